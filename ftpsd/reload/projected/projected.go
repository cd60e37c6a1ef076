// Package projected writes a directory the way the kubelet writes a Secret,
// ConfigMap or projected volume, so that tests and the end-to-end harness can
// give ftpsd files that change exactly as they do in a pod:
//
//	<dir>/..<timestamp>/<key>        one folder per version
//	<dir>/..data -> ..<timestamp>    switched atomically by rename
//	<dir>/<key> -> ..data/<key>      what the program opens
//
// Each Write makes a new version: it writes a new ..<timestamp> folder,
// points a new ..data_tmp symlink at it, renames ..data_tmp over ..data,
// adds the per-key symlinks that are missing, removes those of keys that are
// gone, and removes the previous folder. (The kubelet skips an update whose
// content is unchanged; Write does not, so that tests can check that a
// rewrite of identical content is recognised as such.)
package projected

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"
)

// FileMode is the mode of the files Write creates; the kubelet's default.
const FileMode fs.FileMode = 0o644

// Write makes files (key -> content) the current version of dir, creating
// dir if needed. Keys are relative slash-separated paths without ".."
// elements and without a leading "."; a key with a directory, "a/b", is
// reached through the symlink of its first element, "a".
func Write(dir string, files map[string][]byte) error {
	for key := range files {
		if err := checkKey(key); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	oldVersion, err := os.Readlink(filepath.Join(dir, dataDirName))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var oldKeys map[string]bool
	if oldVersion != "" {
		oldKeys, err = topLevelNames(filepath.Join(dir, oldVersion))
		if err != nil {
			return err
		}
	}

	// 1. The new version's folder, with its files.
	version, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return err
	}
	if err := os.Chmod(version, 0o755); err != nil {
		return err
	}
	for key, content := range files {
		p := filepath.Join(version, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, content, FileMode); err != nil {
			return err
		}
	}

	// 2. ..data_tmp -> new folder, renamed over ..data: the atomic switch.
	tmpLink := filepath.Join(dir, newDataDirName)
	_ = os.Remove(tmpLink) // left over from an interrupted Write
	if err := os.Symlink(filepath.Base(version), tmpLink); err != nil {
		return err
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataDirName)); err != nil {
		return err
	}

	// 3. The per-key symlinks: add new ones, remove those of deleted keys.
	newKeys := map[string]bool{}
	for key := range files {
		newKeys[strings.SplitN(key, "/", 2)[0]] = true
	}
	for name := range newKeys {
		link := filepath.Join(dir, name)
		if _, err := os.Lstat(link); err == nil {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDirName, name), link); err != nil {
			return err
		}
	}
	for name := range oldKeys {
		if !newKeys[name] {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}

	// 4. The previous version goes.
	if oldVersion != "" && oldVersion != filepath.Base(version) {
		if err := os.RemoveAll(filepath.Join(dir, oldVersion)); err != nil {
			return err
		}
	}
	return nil
}

func checkKey(key string) error {
	if key == "" || strings.HasPrefix(key, "/") || strings.HasPrefix(key, ".") {
		return fmt.Errorf("projected: key %q must be a relative path not starting with '.'", key)
	}
	for _, elem := range strings.Split(key, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return fmt.Errorf("projected: key %q has an empty, '.' or '..' element", key)
		}
	}
	return nil
}

func topLevelNames(dir string) (map[string]bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names, nil
}
