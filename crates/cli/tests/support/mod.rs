pub mod demo_server;
