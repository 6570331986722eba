//! The one integration test binary of `transparency`: the public API against published test vectors
//! (`merkle`, `checkpoint`), property tests, and the worked example of `docs/transparency-log.md` (`spec`).

mod checkpoint;
mod merkle;
mod spec;

use transparency::merkle::Hash;

/// A hash from its 64 hex characters.
pub fn hash_from_hex(text: &str) -> Hash {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(text, &mut hash).expect("a test hash is 64 hex characters");
    hash
}
