/*
 * Tickets: the messages customers left while nobody could take their chat.
 */
import { $, clear, display, el, formatDateTime, showBanner } from "./dom.js";
import { api, problem } from "./api.js";

export function loadTickets() {
  return api("GET", "/v1/agent/tickets")
    .then(function (data) {
      var tickets = (data && data.tickets) || [];
      var body = $("tickets").tBodies[0];
      clear(body);
      tickets.slice().sort(function (a, b) { return String(b.created_at).localeCompare(String(a.created_at)); })
        .forEach(function (ticket) {
          var row = el("tr");
          row.setAttribute("data-ticket", ticket.id);
          var when = el("td");
          var time = el("time", "", formatDateTime(ticket.created_at));
          time.dateTime = ticket.created_at || "";
          when.appendChild(time);
          row.appendChild(when);
          row.appendChild(el("td", "", display(ticket.queue)));
          row.appendChild(el("td", "ticket-text", display(ticket.text)));
          row.appendChild(el("td", "mono", display(ticket.session_id)));
          body.appendChild(row);
        });
      $("no-tickets").hidden = tickets.length > 0;
    })
    .catch(function (error) {
      if (error.status !== 401) showBanner("Could not load tickets: " + problem(error));
    });
}
