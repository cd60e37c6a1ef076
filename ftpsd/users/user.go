// Package users reads ftpsd's users file, verifies passwords against the
// hashes it holds, and maps TLS client certificates to users.
//
// The users file is rendered by the operator from FTPSUser objects into the
// Secret <server>-users and mounted into every ftpsd pod; it may also be
// written by hand when ftpsd runs on its own:
//
//	users:
//	- username: alice
//	  passwordHash: $2a$10$...           # bcrypt or argon2id, never a plain password
//	  home: shared/alice                  # relative to the server root; "" means the username
//	  permissions: [List, Read, Write]
//	- username: backup
//	  clientCertificate: {sha256Fingerprint: "AB:CD:..."}
//	  permissions: [List, Read]
//
// A DB is an immutable, validated snapshot of that file. A Store holds the
// current DB, lets the reloader swap in a new one, and authenticates logins
// with a small cache of verified credentials so that a client that opens many
// sessions does not pay for a bcrypt verification on each of them.
package users

import (
	"path"
	"slices"
	"strings"
)

// Permission is one thing a user may do in its home directory. The names are
// those of the FTPSUser CRD.
type Permission string

// The six permissions. Any other name is refused when the file is validated.
const (
	PermList    Permission = "List"
	PermRead    Permission = "Read"
	PermWrite   Permission = "Write"
	PermDelete  Permission = "Delete"
	PermRename  Permission = "Rename"
	PermMakeDir Permission = "MakeDir"
)

// AllPermissions lists the valid permissions in their documented order.
var AllPermissions = []Permission{PermList, PermRead, PermWrite, PermDelete, PermRename, PermMakeDir}

// Valid reports whether p is one of the six known permissions.
func (p Permission) Valid() bool {
	return slices.Contains(AllPermissions, p)
}

// ClientCertificate names the TLS client certificate that identifies a user.
// When both fields are set, both must match.
type ClientCertificate struct {
	CommonName        string `json:"commonName,omitempty"`
	SHA256Fingerprint string `json:"sha256Fingerprint,omitempty"` // hex, colons and case ignored
}

// User is one entry of the users file.
type User struct {
	Username          string             `json:"username"`
	PasswordHash      string             `json:"passwordHash,omitempty"`
	Home              string             `json:"home,omitempty"` // relative to the server root; "" means the username
	Permissions       []Permission       `json:"permissions,omitempty"`
	Disabled          bool               `json:"disabled,omitempty"`
	ClientCertificate *ClientCertificate `json:"clientCertificate,omitempty"`
}

// File is the layout of users.yaml.
type File struct {
	Users []User `json:"users"`
}

// Can reports whether the user holds permission p. A nil user can do nothing.
func (u *User) Can(p Permission) bool {
	if u == nil {
		return false
	}
	return slices.Contains(u.Permissions, p)
}

// HomeDir returns the user's home directory relative to the server root:
// cleaned, slash-separated, without a leading slash, "." for the root itself.
// Validation refuses absolute homes and ".." elements; HomeDir still confines
// whatever it is given (for a User built in code and never validated), so its
// result never climbs above the root.
func (u *User) HomeDir() string {
	home := u.Home
	if home == "" {
		home = u.Username
	}
	home = strings.ReplaceAll(home, `\`, "/")
	// Cleaning under a virtual "/" drops every ".." that would climb above it.
	cleaned := strings.TrimPrefix(path.Clean("/"+home), "/")
	if cleaned == "" {
		return "."
	}
	return cleaned
}

// clone returns a deep copy, so that callers can never alter a DB's snapshot.
func (u *User) clone() *User {
	c := *u
	c.Permissions = slices.Clone(u.Permissions)
	if u.ClientCertificate != nil {
		cc := *u.ClientCertificate
		c.ClientCertificate = &cc
	}
	return &c
}
