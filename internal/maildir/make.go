package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Make creates a maildir (tmp/, new/, cur/ mode 0700) like
// maildirmake(1). An existing complete maildir is an error wrapping
// fs.ErrExist.
func Make(root string) error {
	if err := os.Mkdir(root, 0o700); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("maildirmake %s: %w", root, err)
		}
		if _, err := os.Stat(filepath.Join(root, "cur")); err == nil {
			return fmt.Errorf("maildirmake %s: %w", root, fs.ErrExist)
		}
	}
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("maildirmake %s: %w", root, err)
		}
	}
	return nil
}
