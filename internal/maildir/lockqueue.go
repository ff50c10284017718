package maildir

import (
	"encoding/binary"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// The queue for a folder's dot-lock: first come, first served.
//
// Our own sessions do not poll courier.lock against each other: a session
// first takes a ticket in the folder's queue, waits until the session
// with the previous ticket is done, and only then link()s courier.lock,
// which is then free unless a Courier process (which knows nothing of
// the queue) holds it. The dot-lock stays the lock that counts (Courier,
// NFS); the queue only decides who of ours tries next.
//
// Why a ticket queue. With the dot-lock alone (imaptest stress, 50
// sessions on one folder, 2 cores) waiters slept, polled and were all
// woken at each release, and a waiter still waiting for a CPU lost to one
// already running, time after time: APPENDs waited up to 5-7 s. An
// exclusive flock of tmp/ as the queue brought that to about 2 s, but a
// released flock lets any of its waiters, or a newcomer, take it: the
// same session could lose again and again, and about one command in a
// thousand still waited over a second while the median wait was 0.2 s.
// With tickets, a session waits for exactly the sessions that came
// before it.
//
// How. The queue is the file tmp/courier.lock.queue. Its first 8 bytes
// hold the next ticket number, read and advanced under an open file
// description (OFD) write lock of those 8 bytes (held for a pread and a
// pwrite). Ticket T is an OFD write lock of one byte at slotBase+T, taken
// while the counter is locked, so the next session cannot look at slot T
// before it is held. A session with ticket T waits for a lock on slot T-1
// (the kernel wakes exactly that one waiter when slot T-1 is released),
// lets it go at once, and is then first in line; its unlock closes the
// file, which releases slot T for the next one. OFD locks belong to the
// open file, not the process, so two sessions in one process queue
// correctly, and the kernel drops them when their holder dies: a crashed
// session holds up no one, and no stale-queue case exists.
//
// Where there is no queue: a filesystem that is not known to be local
// (NFS emulates locks on the server, and sessions on other hosts could
// not use it anyway), a queue file we cannot open for writing (a shared
// folder of another user), or any lock error: the session goes on with
// the dot-lock alone, as before the queue existed.
//
// No other code locks this file; recent.go and modseq.go flock the
// folder's own directory, pop3.go the maildir's root, keywords.go the
// keyword directory, so the queue nests with none of them.
const (
	queueFileName = "courier.lock.queue"
	// slotBase: ticket T is the byte at slotBase + T mod slotSpan, far
	// from the counter's bytes.
	slotBase = 1 << 32
	slotSpan = 1 << 40
)

// queueMaxWait bounds a wait in the queue. A session that is stuck while
// ahead in the queue (a hung filesystem) must not stop the others for
// good: after this long a waiter gives up its place and goes on with the
// dot-lock alone, whose own rules (stale after lockStale) then apply.
var queueMaxWait = lockStale

// queueLock takes a ticket in the folder's queue and, with wait, waits
// for its turn. It returns the queue file's descriptor, whose closing
// ends the turn; -1 with ok means there is no queue to wait in (see
// above, or the wait ran out: go on with the dot-lock alone), !ok that
// wait is false and someone is ahead (holding or waiting).
func queueLock(tmpDir string, wait bool) (fd int, ok bool) {
	fd, _, ok = queueLockFor(tmpDir, wait, nil)
	return fd, ok
}

// queueLockFor is queueLock that also returns the ticket and, when someone
// is ahead and we wait, calls onWait with the descriptor and the ticket
// before waiting (a group commit's request, groupcommit.go).
func queueLockFor(tmpDir string, wait bool, onWait func(fd int, t uint64)) (fd int, ticket uint64, ok bool) {
	if !fineTimestamps(tmpDir) {
		return -1, 0, true
	}
	fd, err := unix.Open(filepath.Join(tmpDir, queueFileName), unix.O_RDWR|unix.O_CREAT|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o666)
	if err != nil {
		return -1, 0, true
	}
	ticket, ahead, err := takeTicket(fd, wait)
	if err != nil {
		unix.Close(fd)
		return -1, 0, true
	}
	if ahead && !wait {
		unix.Close(fd)
		return -1, 0, false
	}
	if !ahead {
		return fd, ticket, true
	}
	if onWait != nil {
		onWait(fd, ticket)
	}
	if waitForSlot(fd, ticket-1) {
		return fd, ticket, true
	}
	// Gave up: the descriptor now belongs to the waiting goroutine.
	return -1, ticket, true
}

// takeTicket reads and advances the counter under its lock and takes the
// new ticket's slot. ahead reports whether the previous ticket's slot is
// held (someone holds the dot-lock or waits for it). Without wait and
// with someone ahead, no ticket is taken.
func takeTicket(fd int, wait bool) (ticket uint64, ahead bool, err error) {
	if err := ofdLock(fd, unix.F_OFD_SETLKW, unix.F_WRLCK, 0, 8); err != nil {
		return 0, false, err
	}
	defer ofdLock(fd, unix.F_OFD_SETLK, unix.F_UNLCK, 0, 8)
	var b [8]byte
	if n, err := unix.Pread(fd, b[:], 0); err != nil {
		return 0, false, err
	} else if n == len(b) {
		ticket = binary.LittleEndian.Uint64(b[:])
	}
	if ticket > 0 {
		ahead, err = slotHeld(fd, ticket-1)
		if err != nil {
			return 0, false, err
		}
	}
	if ahead && !wait {
		return ticket, true, nil
	}
	if err := ofdLock(fd, unix.F_OFD_SETLK, unix.F_WRLCK, slotOffset(ticket), 1); err != nil {
		return 0, false, err // held: the counter wrapped onto a live ticket
	}
	binary.LittleEndian.PutUint64(b[:], ticket+1)
	if _, err := unix.Pwrite(fd, b[:], 0); err != nil {
		return 0, false, err
	}
	return ticket, ahead, nil
}

// waitForSlot blocks until slot t is free (its holder unlocked, gave up or
// died), at most queueMaxWait. The blocking call runs on its own goroutine
// so that the wait can be bounded; a waiter that gives up releases its own
// slot at once (the next in line then waits for the one ahead of us, or
// tries the dot-lock) and leaves the descriptor to that goroutine, which
// closes it.
func waitForSlot(fd int, t uint64) bool {
	var mu sync.Mutex
	gaveUp := false
	got := make(chan error, 1)
	go func() {
		err := ofdLock(fd, unix.F_OFD_SETLKW, unix.F_RDLCK, slotOffset(t), 1)
		mu.Lock()
		defer mu.Unlock()
		if gaveUp {
			unix.Close(fd)
			return
		}
		if err == nil {
			ofdLock(fd, unix.F_OFD_SETLK, unix.F_UNLCK, slotOffset(t), 1)
		}
		got <- err
	}()
	turn := func(err error) bool {
		if err != nil {
			unix.Close(fd) // no queue after all: releases our slot too
		}
		return err == nil
	}
	timer := time.NewTimer(queueMaxWait)
	defer timer.Stop()
	select {
	case err := <-got:
		return turn(err)
	case <-timer.C:
		mu.Lock()
		defer mu.Unlock()
		select {
		case err := <-got: // our turn came just now
			return turn(err)
		default:
		}
		gaveUp = true
		ofdLock(fd, unix.F_OFD_SETLK, unix.F_UNLCK, slotBase, slotSpan)
		return false
	}
}

// slotHeld reports whether someone holds slot t.
func slotHeld(fd int, t uint64) (bool, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: slotOffset(t), Len: 1}
	if err := fcntlLockEINTR(fd, unix.F_OFD_GETLK, &lk); err != nil {
		return false, err
	}
	return lk.Type != unix.F_UNLCK, nil
}

func slotOffset(t uint64) int64 { return int64(slotBase + t%slotSpan) }

// ofdLock sets an open-file-description lock of type typ on len bytes at
// start (cmd: F_OFD_SETLK or the blocking F_OFD_SETLKW).
func ofdLock(fd, cmd int, typ int16, start, length int64) error {
	lk := unix.Flock_t{Type: typ, Whence: 0, Start: start, Len: length}
	return fcntlLockEINTR(fd, cmd, &lk)
}

func fcntlLockEINTR(fd, cmd int, lk *unix.Flock_t) error {
	for {
		if err := unix.FcntlFlock(uintptr(fd), cmd, lk); err != unix.EINTR {
			return err
		}
	}
}
