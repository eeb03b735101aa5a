//! Authentication building blocks: password hashing and policy, signed tokens, TOTP, QR
//! images and login throttling. No I/O here; the API wires them to the store.

pub mod jwt;
pub mod password;
pub mod qr;
pub mod throttle;
pub mod totp;
