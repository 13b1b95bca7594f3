//! GoogleSQL `SHA1(value)`: the SHA-1 digest of a STRING (its UTF-8 bytes) or BYTES, as BYTES.
//!
//! DataFusion's `digest` has SHA-2 but not SHA-1, which BigQuery models still use for legacy
//! keys; the algorithm (FIPS 180-4) is short enough to carry here rather than add a crate.

use arrow::array::{Array as _, AsArray as _, BinaryBuilder};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use datafusion_macros::user_doc;

use crate::common::{arc, arity, Args};

/// GoogleSQL `SHA1(value)`.
#[user_doc(
    doc_section(label = "GoogleSQL Functions"),
    description = "The SHA-1 digest of a STRING or BYTES value, as 20 BYTES.",
    syntax_example = "sha1(value)",
    sql_example = r#"```sql
> SELECT TO_HEX(SHA1('Hello World'));
0a4d55a8d778e5022fab701977c5d840bbc486d0
```"#,
    argument(name = "value", description = "The STRING or BYTES to hash.")
)]
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Sha1Func {
    signature: Signature,
}

impl Default for Sha1Func {
    fn default() -> Self {
        Self {
            signature: Signature::variadic_any(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for Sha1Func {
    fn name(&self) -> &str {
        "sha1"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        arity(self.name(), arg_types, &[1])?;
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let args = Args::new(&args)?;
        let bytes = cast(&args.arrays[0], &DataType::Binary)?;
        let bytes = bytes.as_binary::<i32>();
        let mut out = BinaryBuilder::with_capacity(args.len(), args.len() * 20);
        for i in 0..args.len() {
            if bytes.is_null(i) {
                out.append_null();
            } else {
                out.append_value(sha1(bytes.value(i)));
            }
        }
        args.finish(arc(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.doc()
    }
}

/// SHA-1 of `data` (FIPS 180-4, section 6.1).
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xefcd_ab89,
        0x98ba_dcfe,
        0x1032_5476,
        0xc3d2_e1f0,
    ];
    // Padding: a 1 bit, zeros to 56 mod 64 bytes, then the length in bits, big-endian.
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (t, word) in block.chunks_exact(4).enumerate() {
            w[t] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (t, wt) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5a82_7999),
                20..=39 => (b ^ c ^ d, 0x6ed9_eba1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8f1b_bcdc),
                _ => (b ^ c ^ d, 0xca62_c1d6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wt);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, v) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn matches_the_fips_test_vectors() {
        // FIPS 180 / RFC 3174 vectors, and BigQuery's documented 'Hello World'.
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(&sha1(&vec![b'a'; 1_000_000])),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
        assert_eq!(
            hex(&sha1(b"Hello World")),
            "0a4d55a8d778e5022fab701977c5d840bbc486d0"
        );
    }
}
