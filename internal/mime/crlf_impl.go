package mime

import (
	"bytes"
	"fmt"
	"io"
)

// crlfReader inserts CR before every LF not already preceded by CR.
type crlfReader struct {
	r   io.Reader
	buf []byte
	out []byte // pending converted bytes, a window into backing
	// backing is allocated once: every LF may grow to CRLF, so twice the
	// input buffer always suffices and streaming makes no garbage.
	backing []byte
	prevCR  bool
	err     error
}

func newCRLFReader(r io.Reader) io.Reader {
	const bufSize = 16 << 10
	return &crlfReader{r: r, buf: make([]byte, bufSize), backing: make([]byte, 0, 2*bufSize)}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		n, err := c.r.Read(c.buf)
		c.err = err
		if n == 0 {
			continue
		}
		in := c.buf[:n]
		out := c.backing[:0]
		for len(in) > 0 {
			i := bytes.IndexByte(in, '\n')
			if i < 0 {
				out = append(out, in...)
				c.prevCR = in[len(in)-1] == '\r'
				break
			}
			out = append(out, in[:i]...)
			if !(i > 0 && in[i-1] == '\r' || i == 0 && c.prevCR) {
				out = append(out, '\r')
			}
			out = append(out, '\n')
			c.prevCR = false
			in = in[i+1:]
		}
		c.out = out
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

func crlfSize(r io.Reader) (size, lines int64, err error) {
	buf := make([]byte, 32<<10)
	prevCR := false
	last := byte('\n')
	any := false
	for {
		n, rerr := r.Read(buf)
		for i := 0; i < n; i++ {
			c := buf[i]
			size++
			if c == '\n' {
				lines++
				if !prevCR {
					size++
				}
			}
			prevCR = c == '\r'
		}
		if n > 0 {
			last = buf[n-1]
			any = true
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return size, lines, fmt.Errorf("mime: crlf size: %w", rerr)
		}
	}
	if any && last != '\n' {
		lines++
	}
	return size, lines, nil
}
