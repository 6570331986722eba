//! Integration tests of the `auth` crate: token minting and verification (`tokens`) and key handling (`key`).
//! One test binary for the crate, as in the rest of the workspace.

mod key;
mod tokens;

use auth::TokenKey;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use domain::actor::{Actor, Role};
use domain::unit_code::UnitCode;

/// 32 fixed bytes, so that tests can sign tokens of their own with jsonwebtoken under the same secret.
const RAW_KEY: [u8; 32] = *b"0123456789abcdef0123456789abcdef";

fn fixed_key() -> TokenKey {
    TokenKey::from_base64(&STANDARD.encode(RAW_KEY)).unwrap()
}

fn reporter() -> Actor {
    Actor {
        id: "khcn.tranthib".to_owned(),
        name: "Trần Thị Bích".to_owned(),
        unit: UnitCode::parse("SO-KHCN").unwrap(),
        role: Role::Reporter,
    }
}
