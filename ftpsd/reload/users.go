package reload

import (
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// UsersFileLoader returns an onChange for a Watcher on the users file: it
// parses the file and swaps it into store, which drops the credential cache.
// A file that fails to parse or validate leaves the users in force and returns
// the error (the Watcher reports it and tries again on its next poll).
//
//	w, _ := reload.NewWatcher([]string{path}, reload.UsersFileLoader(path, store))
func UsersFileLoader(path string, store *users.Store) func() error {
	return func() error {
		db, err := users.LoadFile(path)
		if err != nil {
			return err
		}
		store.Swap(db)
		return nil
	}
}
