pub mod demo_server;
pub mod edge;
