//! The byte format of org digests: unsigned LEB128 varints, zigzag for signed values,
//! timestamps as zigzagged microseconds since the epoch plus one (zero for none), strings as a length
//! and UTF-8 bytes. Pure functions.

use chrono::NaiveDateTime;

/// A digest that does not decode (written by another version, or damaged).
#[derive(Debug, thiserror::Error)]
#[error("statistics digest does not decode: {0}")]
pub struct DecodeError(pub &'static str);

/// Signed to unsigned, small magnitudes small: 0, -1, 1, -2 … as 0, 1, 2, 3 …
fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// Appends values to a digest.
#[derive(Debug, Default)]
pub struct Enc(pub Vec<u8>);

impl Enc {
    pub fn uint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    pub fn int(&mut self, v: i64) {
        self.uint(zigzag(v));
    }

    pub fn bool(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }

    pub fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    /// `None` as zero, a value as its zigzag plus one.
    pub fn opt_int(&mut self, v: Option<i64>) {
        match v {
            None => self.uint(0),
            Some(v) => self.uint(zigzag(v).wrapping_add(1)),
        }
    }

    /// A time to the microsecond.
    pub fn time(&mut self, t: Option<NaiveDateTime>) {
        self.opt_int(t.map(|t| t.and_utc().timestamp_micros()));
    }

    /// A time to the second (truncated).
    pub fn seconds(&mut self, t: Option<NaiveDateTime>) {
        self.opt_int(t.map(|t| t.and_utc().timestamp()));
    }
}

/// Reads values back in the order they were appended.
#[derive(Debug)]
pub struct Dec<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Dec<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Dec { bytes, at: 0 }
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.at >= self.bytes.len()
    }

    pub fn uint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0_u64;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .bytes
                .get(self.at)
                .ok_or(DecodeError("ends inside a number"))?;
            self.at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("number too long"))
    }

    pub fn int(&mut self) -> Result<i64, DecodeError> {
        Ok(unzigzag(self.uint()?))
    }

    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or(DecodeError("ends inside a flag"))?;
        self.at += 1;
        Ok(byte != 0)
    }

    pub fn str(&mut self) -> Result<String, DecodeError> {
        let len = usize::try_from(self.uint()?).map_err(|_| DecodeError("string too long"))?;
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(DecodeError("ends inside a string"))?;
        let s = std::str::from_utf8(&self.bytes[self.at..end])
            .map_err(|_| DecodeError("string is not UTF-8"))?;
        self.at = end;
        Ok(s.to_string())
    }

    pub fn opt_int(&mut self) -> Result<Option<i64>, DecodeError> {
        Ok(match self.uint()? {
            0 => None,
            u => Some(unzigzag(u - 1)),
        })
    }

    /// A count of items to follow, bounded by the bytes left (each item takes at least one).
    pub fn count(&mut self) -> Result<usize, DecodeError> {
        let n = usize::try_from(self.uint()?).map_err(|_| DecodeError("count too large"))?;
        if n > self.bytes.len() - self.at.min(self.bytes.len()) {
            return Err(DecodeError("count larger than the digest"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    #[test]
    fn values_read_back_as_written() {
        let t = DateTime::from_timestamp_micros(1_764_000_000_123_456)
            .unwrap()
            .naive_utc();
        let before_epoch = DateTime::from_timestamp_micros(-5).unwrap().naive_utc();
        let mut e = Enc::default();
        for v in [0_u64, 1, 127, 128, 300, u64::MAX] {
            e.uint(v);
        }
        for v in [0_i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            e.int(v);
        }
        e.bool(true);
        e.str("第一党支部");
        e.time(None);
        e.time(Some(t));
        e.time(Some(before_epoch));
        e.seconds(Some(t));
        e.seconds(Some(before_epoch));
        let mut d = Dec::new(&e.0);
        for v in [0_u64, 1, 127, 128, 300, u64::MAX] {
            assert_eq!(d.uint().unwrap(), v);
        }
        for v in [0_i64, -1, 1, -64, 64, i64::MIN, i64::MAX] {
            assert_eq!(d.int().unwrap(), v);
        }
        assert!(d.bool().unwrap());
        assert_eq!(d.str().unwrap(), "第一党支部");
        assert_eq!(d.opt_int().unwrap(), None);
        assert_eq!(d.opt_int().unwrap(), Some(t.and_utc().timestamp_micros()));
        assert_eq!(
            d.opt_int().unwrap(),
            Some(before_epoch.and_utc().timestamp_micros())
        );
        // Truncated to the second, towards the past.
        assert_eq!(d.opt_int().unwrap(), Some(1_764_000_000));
        assert_eq!(d.opt_int().unwrap(), Some(-1));
        assert!(d.is_empty());
    }

    #[test]
    fn truncated_digests_are_errors_not_panics() {
        let mut e = Enc::default();
        e.uint(u64::MAX);
        e.str("abc");
        for cut in 0..e.0.len() {
            let mut d = Dec::new(&e.0[..cut]);
            assert!(d.uint().and_then(|_| d.str()).is_err(), "cut at {cut}");
        }
        assert!(Dec::new(&[0xff; 11]).uint().is_err());
        assert!(Dec::new(&[5]).count().is_err());
    }
}
