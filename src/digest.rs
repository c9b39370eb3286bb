//! Content digests as OCI writes them: `ALGORITHM:HEX`. mpbuild writes sha256 and
//! checks sha256 and sha512 (the two algorithms the OCI image spec registers); any
//! other algorithm is refused, never taken on trust.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256, Sha512};

/// A content digest, `ALGORITHM:HEX`: well formed, of an algorithm mpbuild checks
/// (sha256, sha512). Made by hashing, or parsed once where text comes in (a record, a
/// registry's answer, buildx's metadata); shown and serialised as that text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// `text` as a digest, or a sentence saying why it is none (see [`Algorithm::of`]).
    pub fn parse(text: &str) -> Result<Digest, String> {
        Algorithm::of(text)?;
        Ok(Digest(text.to_string()))
    }

    /// The sha256 digest of `bytes`.
    pub fn sha256(bytes: &[u8]) -> Digest {
        Digest(sha256(bytes))
    }

    /// The `algorithm` digest of `bytes`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        Digest(algorithm.digest(bytes))
    }

    /// The digest of a sha256 hash already computed (its 32 bytes).
    pub fn from_sha256_hash(hash: &[u8]) -> Digest {
        Digest(format!("sha256:{}", hex(hash)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its algorithm (known to be one mpbuild checks).
    pub fn algorithm(&self) -> Algorithm {
        Algorithm::of(&self.0).unwrap_or(Algorithm::Sha256)
    }
}

impl std::ops::Deref for Digest {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Digest {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PartialEq<str> for Digest {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Digest {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Digest {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<Digest> for String {
    fn eq(&self, other: &Digest) -> bool {
        *self == other.0
    }
}

impl PartialEq<Digest> for str {
    fn eq(&self, other: &Digest) -> bool {
        self == other.0
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `sha256:HEX` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

/// `sha512:HEX` of `bytes`.
pub fn sha512(bytes: &[u8]) -> String {
    format!("sha512:{}", hex(&Sha512::digest(bytes)))
}

/// Lowercase hex of a byte slice.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// Whether `s` is a well-formed sha256 digest.
pub fn is_sha256(s: &str) -> bool {
    Algorithm::Sha256.is_well_formed(s)
}

/// The digest algorithms mpbuild can check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha256,
    Sha512,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// The algorithm of `digest` (`ALG:HEX`), or a sentence saying why it cannot be
    /// checked: an unknown algorithm, or a malformed digest.
    pub fn of(digest: &str) -> Result<Algorithm, String> {
        let Some((alg, _)) = digest.split_once(':') else {
            return Err(format!("`{digest}` is not a digest (ALGORITHM:HEX)"));
        };
        let a = match alg {
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            other => {
                return Err(format!(
                    "digest `{digest}` uses the algorithm `{other}`, which mpbuild cannot check (it checks sha256 and sha512); refusing it rather than trusting it"
                ));
            }
        };
        if !a.is_well_formed(digest) {
            return Err(format!(
                "`{digest}` is not a {alg} digest ({alg}:<{} lowercase hex digits>)",
                a.hex_len()
            ));
        }
        Ok(a)
    }

    fn is_well_formed(self, s: &str) -> bool {
        s.strip_prefix(self.name())
            .and_then(|r| r.strip_prefix(':'))
            .is_some_and(|h| {
                h.len() == self.hex_len()
                    && h.bytes()
                        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
            })
    }

    /// `ALG:HEX` of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> String {
        match self {
            Algorithm::Sha256 => sha256(bytes),
            Algorithm::Sha512 => sha512(bytes),
        }
    }

    /// A streaming hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(Box::new(Sha512::new())),
        }
    }
}

/// A digest computed as bytes stream past.
#[derive(Clone)]
pub enum Hasher {
    Sha256(Sha256),
    Sha512(Box<Sha512>),
}

impl Hasher {
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// `ALG:HEX` of everything so far.
    pub fn finish(&self) -> String {
        match self {
            Hasher::Sha256(h) => format!("sha256:{}", hex(&h.clone().finalize())),
            Hasher::Sha512(h) => format!("sha512:{}", hex(&h.clone().finalize())),
        }
    }
}

/// Shortens `sha256:0123…` to 12 hex digits for the human report.
pub fn short(digest: &str) -> String {
    match digest.split_once(':') {
        Some((alg, hex)) if hex.len() > 12 => format!("{alg}:{}", &hex[..12]),
        _ => digest.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_sha256(&sha256(b"x")));
        assert!(!is_sha256("sha256:E3B0"));
        assert_eq!(
            sha512(b""),
            "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
        );
    }

    #[test]
    fn each_digest_is_checked_with_its_own_algorithm_or_refused() {
        assert_eq!(Algorithm::of(&sha256(b"x")), Ok(Algorithm::Sha256));
        assert_eq!(Algorithm::of(&sha512(b"x")), Ok(Algorithm::Sha512));
        let d = sha512(b"abc");
        let a = Algorithm::of(&d).unwrap();
        assert_eq!(a.digest(b"abc"), d);
        let mut h = a.hasher();
        h.update(b"a");
        h.update(b"bc");
        assert_eq!(h.finish(), d);
        let e = Algorithm::of("blake3:abcd").unwrap_err();
        assert!(e.contains("`blake3`, which mpbuild cannot check"), "{e}");
        assert!(Algorithm::of("sha512:abc").unwrap_err().contains("128"));
        assert!(Algorithm::of("latest").is_err());
        assert!(!is_sha256(&sha512(b"x")));
    }
}
