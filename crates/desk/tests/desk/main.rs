//! The desk's tests, one binary: the transfer state machine, routing on the pure desk state, and
//! the shared contract suite on `OwnDesk`.

mod own_desk;
mod routing;
mod transfer;
