package maildir

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"gocourier/internal/maildir/quota"
)

// quotaSpec returns the quota in force: Options.Quota (authdaemond's
// QUOTA) overrides the first line of maildirsize (§9.9).
func (m *Maildir) quotaSpec(f *quota.File) (quota.Spec, string) {
	if m.opts.Quota != "" {
		sp, err := quota.ParseSpec(m.opts.Quota)
		if err == nil {
			return sp, m.opts.Quota
		}
	}
	if f != nil {
		return f.Spec, f.SpecLine
	}
	return quota.Spec{}, ""
}

// QuotaUsage returns the quota and the current usage (IMAP GETQUOTA,
// §4.9), recalculating maildirsize when maildirquota(7)'s rules say so:
// missing file (with a quota set), file >= 5120 bytes, a different quota
// spec, or over quota with more than one delta line or older than 15 min.
// A Usage with a zero Spec means no quota.
func (m *Maildir) QuotaUsage() (quota.Usage, error) { return m.usage(0, 0) }

// usage is QuotaUsage where "over quota" means after adding (addB,addN).
func (m *Maildir) usage(addB, addN int64) (quota.Usage, error) {
	p := filepath.Join(m.root, sizeFile)
	fh, err := os.Open(p)
	var qf *quota.File
	var age time.Duration
	var fsize int64
	if err == nil {
		parsed, perr := quota.Parse(fh)
		st, _ := fh.Stat()
		fh.Close()
		if perr == nil {
			qf = &parsed
		}
		if st != nil {
			age, fsize = time.Since(st.ModTime()), st.Size()
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return quota.Usage{}, fmt.Errorf("maildir: quota: %w", err)
	}
	spec, line := m.quotaSpec(qf)
	if spec.IsZero() {
		if qf != nil {
			return quota.Usage{Bytes: qf.Bytes, Count: qf.Count}, nil
		}
		return quota.Usage{}, nil
	}
	recalc := qf == nil || fsize >= quota.MaxFileSize || qf.SpecLine != line || qf.BadLines > 0 || qf.Truncated
	over := (spec.Bytes > 0 && qf != nil && qf.Bytes+addB > spec.Bytes) || (spec.Count > 0 && qf != nil && qf.Count+addN > spec.Count)
	if !recalc && over {
		recalc = qf.Lines > 1 || age > 15*time.Minute
	}
	if !recalc {
		return quota.Usage{Spec: spec, Bytes: qf.Bytes, Count: qf.Count}, nil
	}
	b, n, err := m.recalcQuota(line)
	if err != nil {
		return quota.Usage{}, err
	}
	return quota.Usage{Spec: spec, Bytes: b, Count: n}, nil
}

// RecalcQuota rewrites maildirsize from the folders (maildirmake -q,
// deliverquota). spec "" keeps the quota in force.
func (m *Maildir) RecalcQuota(spec string) (quota.Usage, error) {
	if spec == "" {
		_, spec = m.quotaSpec(m.readQuotaFile())
	}
	sp, err := quota.ParseSpec(spec)
	if err != nil {
		return quota.Usage{}, err
	}
	b, n, err := m.recalcQuota(sp.String())
	return quota.Usage{Spec: sp, Bytes: b, Count: n}, err
}

func (m *Maildir) readQuotaFile() *quota.File {
	fh, err := os.Open(filepath.Join(m.root, sizeFile))
	if err != nil {
		return nil
	}
	defer fh.Close()
	f, err := quota.Parse(fh)
	if err != nil {
		return nil
	}
	return &f
}

// recalcQuota sums new/ and cur/ of INBOX and every folder but Trash and
// writes maildirsize atomically. If a directory changed during the sum the
// scan is repeated (at most 3 times), as maildirquota(7) asks.
func (m *Maildir) recalcQuota(specLine string) (int64, int64, error) {
	var b, n int64
	for try := 0; try < 3; try++ {
		dirs := []string{m.root}
		fds, err := m.folderDirs()
		if err != nil {
			return 0, 0, err
		}
		for _, d := range fds {
			if m.opts.TrashName != "" && d == "."+m.opts.TrashName {
				continue
			}
			dirs = append(dirs, filepath.Join(m.root, d))
		}
		before := dirMtimes(dirs)
		b, n = 0, 0
		for _, d := range dirs {
			db, dn := dirUsage(d)
			b += db
			n += dn
		}
		if bytes.Equal(before, dirMtimes(dirs)) {
			break
		}
	}
	var buf bytes.Buffer
	buf.WriteString(specLine + "\n")
	buf.WriteString(quota.DeltaLine(b, n))
	if err := m.writeFileAtomic(m.root, sizeFile, buf.Bytes(), 0o644); err != nil {
		return b, n, err
	}
	return b, n, nil
}

func dirMtimes(dirs []string) []byte {
	var out []byte
	for _, d := range dirs {
		for _, s := range []string{"new", "cur"} {
			if st, err := os.Stat(filepath.Join(d, s)); err == nil {
				out = fmt.Appendf(out, "%d;", st.ModTime().UnixNano())
			}
		}
	}
	return out
}

// quotaDelta appends a delta line to maildirsize when a quota is in
// force and the file exists (one O_APPEND write, §9.9). Errors are
// ignored: the file is an estimate that is recalculated when doubtful.
func (m *Maildir) quotaDelta(bytes, count int64) {
	if bytes == 0 && count == 0 {
		return
	}
	fh, err := os.OpenFile(filepath.Join(m.root, sizeFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return
	}
	fh.WriteString(quota.DeltaLine(bytes, count))
	fh.Close()
}

// checkQuota returns ErrOverQuota when adding (bytes,count) would exceed
// the quota in force.
func (m *Maildir) checkQuota(bytes, count int64) error {
	u, err := m.usage(bytes, count)
	if err != nil || u.Spec.IsZero() {
		return nil
	}
	if u.Spec.Over(u.Bytes, u.Count, bytes, count) {
		return ErrOverQuota
	}
	return nil
}

// CheckQuota is checkQuota for delivery agents (deliverquota).
func (m *Maildir) CheckQuota(bytes, count int64) error { return m.checkQuota(bytes, count) }
