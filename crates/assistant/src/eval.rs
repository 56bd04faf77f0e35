//! Evaluation of expressions (filled in by the expression work).
