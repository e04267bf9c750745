package cuda

// MD2 (RFC 1319) and HMAC over it (RFC 2104, with MD2's 16-byte block): the digest CUDA's
// runtime expects from the driver's integrity check. Written from the RFCs.

// md2S is RFC 1319's substitution table, a permutation of 0..255 built from the digits of pi.
var md2S = [256]byte{
	41, 46, 67, 201, 162, 216, 124, 1, 61, 54, 84, 161, 236, 240, 6, 19,
	98, 167, 5, 243, 192, 199, 115, 140, 152, 147, 43, 217, 188, 76, 130, 202,
	30, 155, 87, 60, 253, 212, 224, 22, 103, 66, 111, 24, 138, 23, 229, 18,
	190, 78, 196, 214, 218, 158, 222, 73, 160, 251, 245, 142, 187, 47, 238, 122,
	169, 104, 121, 145, 21, 178, 7, 63, 148, 194, 16, 137, 11, 34, 95, 33,
	128, 127, 93, 154, 90, 144, 50, 39, 53, 62, 204, 231, 191, 247, 151, 3,
	255, 25, 48, 179, 72, 165, 181, 209, 215, 94, 146, 42, 172, 86, 170, 198,
	79, 184, 56, 210, 150, 164, 125, 182, 118, 252, 107, 226, 156, 116, 4, 241,
	69, 157, 112, 89, 100, 113, 135, 32, 134, 91, 207, 101, 230, 45, 168, 2,
	27, 96, 37, 173, 174, 176, 185, 246, 28, 70, 97, 105, 52, 64, 126, 15,
	85, 71, 163, 35, 221, 81, 175, 58, 195, 92, 249, 206, 186, 197, 234, 38,
	44, 83, 13, 110, 133, 40, 132, 9, 211, 223, 205, 244, 65, 129, 77, 82,
	106, 220, 55, 200, 108, 193, 171, 250, 36, 225, 123, 8, 12, 189, 177, 74,
	120, 136, 149, 139, 227, 99, 232, 109, 233, 203, 213, 254, 59, 0, 29, 57,
	242, 239, 183, 14, 102, 88, 208, 228, 166, 119, 114, 248, 235, 117, 75, 10,
	49, 68, 80, 180, 143, 237, 31, 26, 219, 153, 141, 51, 159, 17, 131, 20,
}

// md2 is MD2's state: the 48-byte buffer, the running checksum, and a partial block.
type md2 struct {
	x     [48]byte
	c     [16]byte
	buf   [16]byte
	n     int
	lastC byte
}

func (m *md2) block(b []byte) {
	for j := 0; j < 16; j++ {
		m.x[16+j] = b[j]
		m.x[32+j] = m.x[j] ^ b[j]
		m.c[j] ^= md2S[b[j]^m.lastC]
		m.lastC = m.c[j]
	}
	var t byte
	for round := 0; round < 18; round++ {
		for k := range m.x {
			m.x[k] ^= md2S[t]
			t = m.x[k]
		}
		t += byte(round)
	}
}

func (m *md2) write(p []byte) {
	for _, b := range p {
		m.buf[m.n] = b
		if m.n++; m.n == 16 {
			m.block(m.buf[:])
			m.n = 0
		}
	}
}

func (m *md2) sum() [16]byte {
	pad := byte(16 - m.n)
	for i := byte(0); i < pad; i++ {
		m.write([]byte{pad})
	}
	c := m.c
	m.block(c[:])
	var d [16]byte
	copy(d[:], m.x[:16])
	return d
}

func md2Sum(p []byte) [16]byte {
	var m md2
	m.write(p)
	return m.sum()
}

// hmacMD2 is HMAC-MD2 for a key of at most one block (16 bytes).
func hmacMD2(key, msg []byte) [16]byte {
	var k [16]byte
	copy(k[:], key)
	var in, out md2
	for i := range k {
		in.write([]byte{k[i] ^ 0x36})
	}
	in.write(msg)
	inner := in.sum()
	for i := range k {
		out.write([]byte{k[i] ^ 0x5c})
	}
	out.write(inner[:])
	return out.sum()
}
