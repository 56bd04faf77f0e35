/*
 * Rich text, shared by the web chat widget and the agent console. The widget has it inlined in
 * place of its placeholder when the server serves it, so it stays private to the widget's script
 * on customers' pages; the console imports it as the module /agent/richtext.js, which the server
 * makes from this file. RICH_LINK_CLASS, the class of the links, is defined by the script or
 * module that includes it.
 */

  /* Text with Markdown links [label](https://…), **bold** and *italic* (or _italic_): links
     become anchors, emphasis <strong> and <em>, everything else text. Always DOM nodes, never
     markup, so nothing in the text can run. */
  function appendRichText(parent, text) {
    var pattern = /\[([^\]\n]+)\]\(([^)\s]+)\)/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) appendEmphasis(parent, text.slice(last, match.index));
      appendLink(parent, match[1], match[2]);
      last = pattern.lastIndex;
    }
    if (last < text.length) appendEmphasis(parent, text.slice(last));
  }

  /* **bold**, *italic* and _italic_ (not inside a word, as in snake_case) within one line. */
  function appendEmphasis(parent, text) {
    var pattern = /\*\*(?=\S)([^*\n]*?\S)\*\*|\*(?=\S)([^*\n]*?\S)\*|(^|[^\w])_(?=\S)([^_\n]*?\S)_(?!\w)/g;
    var last = 0;
    var match;
    while ((match = pattern.exec(text)) !== null) {
      var start = match.index + (match[3] ? match[3].length : 0);
      if (start > last) parent.appendChild(document.createTextNode(text.slice(last, start)));
      if (match[1] !== undefined) parent.appendChild(richElement("strong", match[1]));
      else if (match[2] !== undefined) parent.appendChild(richElement("em", match[2]));
      else parent.appendChild(richElement("em", match[4]));
      last = pattern.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function appendLink(parent, label, url) {
    var safe = /^(https?:|mailto:|tel:)/i.test(url) || /^\/[^\/]/.test(url);
    if (!safe) {
      parent.appendChild(document.createTextNode(label));
      return;
    }
    var anchor = richElement("a", label);
    anchor.className = RICH_LINK_CLASS;
    anchor.href = url;
    anchor.target = "_blank";
    anchor.rel = "noopener noreferrer";
    parent.appendChild(anchor);
  }

  function richElement(tag, text) {
    var node = document.createElement(tag);
    node.textContent = text;
    return node;
  }
