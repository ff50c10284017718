package maildir

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Watch reports changes to the folder's new/ and cur/ (deliveries, flag
// renames, expunges by anyone) and its keyword directory, for IMAP IDLE.
// It uses inotify (go-libs §5). Each receive on the channel means "call
// Rescan"; events are coalesced (buffer 1). stop releases the watch and
// closes the channel.
func (f *Folder) Watch() (<-chan struct{}, func(), error) {
	var fd int
	curWD := int32(-1) // cur/'s watch: its dot-files are not messages
	if f.own != nil {
		// The watch of our own changes (own.go) already reports every
		// change to cur/, new/ and the keyword directory: share its
		// inotify instance (a duplicate descriptor reads the same
		// queue) rather than take another of the user's 128. Its
		// events now go to IDLE, so the next Rescan scans in full.
		d, err := unix.FcntlInt(uintptr(f.own.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("maildir: inotify: %w", err)
		}
		f.disarm()
		f.own.shared = true
		fd, curWD = d, f.own.cur
	} else {
		var err error
		fd, err = unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			return nil, nil, fmt.Errorf("maildir: inotify: %w", err)
		}
		const mask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE
		for _, sub := range []string{"new", "cur", keywordDir} {
			wd, err := unix.InotifyAddWatch(fd, filepath.Join(f.dir, sub), mask)
			if err != nil && sub != keywordDir {
				unix.Close(fd)
				return nil, nil, fmt.Errorf("maildir: inotify watch %s: %w", sub, err)
			}
			if sub == "cur" {
				curWD = int32(wd)
			}
		}
	}
	file := os.NewFile(uintptr(fd), "inotify")
	ch := make(chan struct{}, 1)
	go func() {
		defer close(ch)
		// Room for at least 15 events (16 bytes + NAME_MAX+1 each);
		// any count only means "rescan". A 64 KiB array here grew this
		// goroutine's stack to 128 KiB for the whole IDLE (DESIGN §7).
		buf := make([]byte, 4096)
		for {
			n, err := file.Read(buf)
			if err != nil {
				return
			}
			// Dot-files (a commit's staged message) change nothing a
			// Rescan would report.
			news := false
			if whole := inotifyEvents(buf[:n], func(wd int32, _ uint32, name []byte) bool {
				news = wd != curWD || !notMessage(name)
				return !news
			}); !whole {
				news = true
			}
			if news {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}
	}()
	own := f.own
	stop := func() {
		file.Close()
		if own != nil && own == f.own {
			// Events read by IDLE are gone: the next Rescan scans (and
			// arms) in full.
			own.shared = false
			own.armed = false
		}
	}
	return ch, stop, nil
}
