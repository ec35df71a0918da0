//! WhatsApp's callbacks arriving: the handshake and signed POSTs (`receive`), served
//! by `routes`. They are stored here and applied by the worker.

pub mod receive;
pub mod routes;
