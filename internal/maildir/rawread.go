package maildir

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// Reading every message of a big folder (UID FETCH 1:* RFC822.SIZE, the
// first time a session asks) costs, through os.File, six system calls per
// message (open, the F_GETFL of os.NewFile, fstat, two reads, close) and,
// worse, the Go scheduler's work around each blocking call: with
// GOMAXPROCS=1 the runtime's monitor thread keeps retaking the processor
// from a thread in a read() and waking another thread for it, about one
// context switch and futex pair per message. A read of a regular file
// from the page cache is short, so SizeAndDate uses raw system calls
// (the session is strictly sequential: nothing else needs to run during
// one), reads exactly the size fstat gave (no extra read for EOF), and
// opens with O_NOATIME when allowed (the mail user owns its files;
// Courier never looks at atime), which spares an inode update per
// message on the first read after a delivery or a hard-linked copy.

// rawBufs holds the read buffers (not kept per folder: an idle session
// should not pin them).
var rawBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// noAtime is cleared after the kernel refuses O_NOATIME (EPERM: the
// process does not own the files, e.g. a shared folder).
var noAtime = true

func rawOpen(p string) (int, error) {
	b, err := syscall.BytePtrFromString(p)
	if err != nil {
		return -1, err
	}
	// O_NONBLOCK: a FIFO planted in cur/ must not hang the session in
	// open(); it has no effect on regular files (the caller checks the
	// type).
	flags := syscall.O_RDONLY | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	dirfd := atFDCWD
	for {
		fl := flags
		if noAtime {
			fl |= syscall.O_NOATIME
		}
		fd, _, e := syscall.RawSyscall6(syscall.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(b)), uintptr(fl), 0, 0, 0)
		switch {
		case e == 0:
			return int(fd), nil
		case e == syscall.EPERM && noAtime:
			noAtime = false
			continue
		case e == syscall.EINTR:
			continue
		}
		return -1, e
	}
}

const atFDCWD = -100 // AT_FDCWD

func rawClose(fd int) { syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0) }

func rawRead(fd int, p []byte) (int, error) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), nil
	}
}

// SizeAndDate returns a message's RFC822.SIZE (the stored size plus one
// per LF, see CRLFSize) and its INTERNALDATE (file mtime), both cached
// in the folder's state; the file is read once.
func (f *Folder) SizeAndDate(uid uint32) (int64, time.Time, error) {
	if f.closed {
		return 0, time.Time{}, ErrClosed
	}
	x := f.lookup(uid)
	if x == nil {
		return 0, time.Time{}, fmt.Errorf("uid %d: %w", uid, ErrNoSuchMessage)
	}
	if x.crlf >= 0 && !x.mtime.IsZero() {
		return x.crlf, x.mtime, nil
	}
	fd, err := rawOpen(f.dir + "/cur/" + x.name)
	if err != nil {
		// Renamed by another process (flags), or gone: the slow path
		// finds it again or reports it.
		fh, _, oerr := f.OpenMessage(uid)
		if oerr != nil {
			return 0, time.Time{}, oerr
		}
		defer fh.Close()
		n, _, serr := CRLFSize(fh)
		if serr != nil {
			return 0, time.Time{}, fmt.Errorf("maildir: size of %d: %w", uid, serr)
		}
		x.crlf = n
		return n, x.mtime, nil
	}
	defer rawClose(fd)
	var st syscall.Stat_t
	if _, _, e := syscall.RawSyscall(syscall.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(&st)), 0); e != 0 {
		return 0, time.Time{}, fmt.Errorf("maildir: stat message %d: %w", uid, e)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return 0, time.Time{}, fmt.Errorf("maildir: message %d: not a regular file", uid)
	}
	bp := rawBufs.Get().(*[]byte)
	defer rawBufs.Put(bp)
	buf := *bp
	// Read what fstat announced; if the file grows meanwhile (it must
	// not: message files are immutable) the count stops at that size,
	// if it shrinks the read returns 0 early.
	left := st.Size
	var n int64
	for left > 0 {
		k, err := rawRead(fd, buf[:min(int64(len(buf)), left)])
		if err != nil {
			return 0, time.Time{}, fmt.Errorf("maildir: size of %d: %w", uid, err)
		}
		if k == 0 {
			break
		}
		n += int64(k) + int64(bytes.Count(buf[:k], []byte{'\n'}))
		left -= int64(k)
	}
	x.crlf = n
	x.mtime = time.Unix(st.Mtim.Unix())
	return n, x.mtime, nil
}

// RawMessage is a message file opened for FETCH/SEARCH, read with raw
// pread calls for the same reasons as SizeAndDate (one fstat at open for
// the size and INTERNALDATE, no scheduler hand-off per read).
type RawMessage struct {
	fd   int
	size int64
}

// OpenRaw opens a message's file (LF line ends, as stored). Only regular
// files are opened. The caller closes it.
func (f *Folder) OpenRaw(uid uint32) (*RawMessage, error) {
	if f.closed {
		return nil, ErrClosed
	}
	x := f.lookup(uid)
	if x == nil {
		return nil, fmt.Errorf("uid %d: %w", uid, ErrNoSuchMessage)
	}
	fd, err := rawOpen(f.dir + "/cur/" + x.name)
	if err != nil {
		// Renamed by another process: find it again (and once more
		// if it moves between the lookup and the open).
		for try := 0; try < 3 && err != nil; try++ {
			var p string
			if x, p, err = f.find(uid); err != nil {
				return nil, err
			}
			fd, err = rawOpen(p)
		}
		if err != nil {
			return nil, fmt.Errorf("maildir: open message %d: %w", uid, err)
		}
	}
	var st syscall.Stat_t
	if _, _, e := syscall.RawSyscall(syscall.SYS_FSTAT, uintptr(fd), uintptr(unsafe.Pointer(&st)), 0); e != 0 {
		rawClose(fd)
		return nil, fmt.Errorf("maildir: stat message %d: %w", uid, e)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		rawClose(fd)
		return nil, fmt.Errorf("maildir: message %d: not a regular file", uid)
	}
	x.mtime = time.Unix(st.Mtim.Unix())
	return &RawMessage{fd: fd, size: st.Size}, nil
}

// Size is the stored size at open time.
func (r *RawMessage) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *RawMessage) ReadAt(p []byte, off int64) (int, error) {
	if r.fd < 0 {
		return 0, os.ErrClosed
	}
	if off < 0 {
		return 0, fmt.Errorf("maildir: negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		k, _, e := syscall.RawSyscall6(syscall.SYS_PREAD64, uintptr(r.fd), uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n), uintptr(off+int64(n)), 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return n, e
		}
		if k == 0 {
			return n, io.EOF
		}
		n += int(k)
	}
	return n, nil
}

// Close releases the file; a second Close is a no-op.
func (r *RawMessage) Close() error {
	if r.fd >= 0 {
		rawClose(r.fd)
		r.fd = -1
	}
	return nil
}
