//! The protobuf wire format, read by hand: just enough to step through an ONNX file (see
//! `onnx.rs` for what the fields mean). Every length is checked against the bytes that are
//! left, so a corrupt file is an error, never a panic.

// ---------------------------------------------------------------------------------------------
// Part 1: the protobuf wire format
// ---------------------------------------------------------------------------------------------

/// The value of one field, as far as the wire format alone can tell.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1. None of the fields we read uses it, so its 8 bytes are just skipped.
    Fixed64,
    /// Wire type 2: the payload bytes (a string, bytes, a nested message or a packed array).
    Bytes(&'a [u8]),
    /// Wire type 5 (the 4 bytes, read as a little-endian integer; `f32::from_bits` for a float).
    Fixed32(u32),
}

/// One field of a message: its number (from the schema) and its value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    pub(crate) number: u64,
    pub(crate) value: Value<'a>,
    /// Byte offset of the field's key in the whole file, for error messages.
    pub(crate) offset: usize,
    /// Byte offset of the field's payload in the whole file (for `Value::Bytes`: where the
    /// nested message or packed array starts), so nested readers report absolute offsets too.
    pub(crate) data_offset: usize,
}

/// A cursor over the bytes of one message (or of one packed array).
///
/// `base` is the offset of `buf[0]` within the whole file, so that error messages can point at
/// an absolute byte offset even when we are deep inside nested messages.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// True when every byte has been consumed.
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Absolute file offset of the cursor.
    pub(crate) fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Reads a base-128 varint: 7 bits per byte, least significant group first, high bit set on
    /// every byte except the last. A u64 needs at most 10 bytes (9 * 7 = 63 bits, plus 1 bit).
    pub(crate) fn varint(&mut self) -> Result<u64, String> {
        let start = self.offset();
        let mut result: u64 = 0;
        for i in 0..10u32 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(format!(
                    "truncated varint at byte {start} (input ends inside it)"
                ));
            };
            self.pos += 1;
            let bits = u64::from(byte & 0x7f);
            // The 10th byte holds bit 63 only; anything more would not fit in 64 bits.
            if i == 9 && bits > 1 {
                return Err(format!("varint at byte {start} overflows 64 bits"));
            }
            result |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(result);
            }
        }
        Err(format!("varint at byte {start} is longer than 10 bytes"))
    }

    /// Takes the next `n` bytes of the field whose key is at file offset `start`, or fails if
    /// fewer are left.
    pub(crate) fn take(&mut self, n: u64, number: u64, start: usize) -> Result<&'a [u8], String> {
        let left = self.buf.len() - self.pos; // pos <= len always holds
                                              // Compare as u64 first: `n` comes from the file and may not even fit in a usize.
        if n > left as u64 {
            return Err(format!(
                "field {number} at byte {start} runs past the end of its enclosing message \
                 (needs {n} bytes, only {left} left)"
            ));
        }
        let n = n as usize; // fits: n <= left
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads the next field, or returns `None` at the end of the message.
    pub(crate) fn next_field(&mut self) -> Result<Option<Field<'a>>, String> {
        if self.at_end() {
            return Ok(None);
        }
        let offset = self.offset();
        let key = self.varint()?;
        let number = key >> 3;
        let wire_type = key & 7;
        if number == 0 {
            return Err(format!("invalid field number 0 at byte {offset}"));
        }
        let mut data_offset = self.offset();
        let value = match wire_type {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8, number, offset)?;
                Value::Fixed64
            }
            2 => {
                let len = self.varint()?;
                data_offset = self.offset(); // the payload starts after the length
                Value::Bytes(self.take(len, number, offset)?)
            }
            5 => {
                let b = self.take(4, number, offset)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            3 | 4 => {
                return Err(format!(
                    "field {number} at byte {offset} uses wire type {wire_type} (group), \
                     which is not supported (ONNX never uses groups)"
                ))
            }
            _ => return Err(format!("invalid wire type {wire_type} at byte {offset}")),
        };
        Ok(Some(Field {
            number,
            value,
            offset,
            data_offset,
        }))
    }
}
