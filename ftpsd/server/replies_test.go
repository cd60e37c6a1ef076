package server

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// replyText is a string that starts like a reply line: a code, then a space
// or the dash of a multi-line reply.
var replyText = regexp.MustCompile(`^[1-5][0-9][0-9][ -]`)

// sendsReply reports whether a called function's name says it sends or
// builds a reply (reply, replyLines, writeReply, replyNow, sendRaw, ...):
// an integer code among its arguments bypasses the reply table.
func sendsReply(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "reply") || strings.HasPrefix(n, "send") || strings.HasPrefix(n, "write") ||
		strings.HasSuffix(n, "reply")
}

// replyCode reports whether e is an integer literal in the range of reply
// codes.
func replyCode(e ast.Expr) bool {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		return false
	}
	n, err := strconv.ParseInt(lit.Value, 0, 64)
	return err == nil && n >= 100 && n <= 599
}

func calledName(f ast.Expr) string {
	switch f := f.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

// replyLiterals lists the reply codes written in one file outside the reply
// table: reply{...} literals, integer codes handed to a reply function, and
// strings that start like a reply line.
func replyLiterals(fset *token.FileSet, f *ast.File) []string {
	var found []string
	at := func(n ast.Node, what string) {
		found = append(found, fmt.Sprintf("%s: %s", fset.Position(n.Pos()), what))
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CompositeLit:
			if id, ok := n.Type.(*ast.Ident); ok && id.Name == "reply" && len(n.Elts) > 0 {
				at(n, "reply literal")
			}
		case *ast.CallExpr:
			if name := calledName(n.Fun); sendsReply(name) {
				for _, a := range n.Args {
					if replyCode(a) {
						at(a, "code "+a.(*ast.BasicLit).Value+" passed to "+name)
					}
				}
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if s, err := strconv.Unquote(n.Value); err == nil && replyText.MatchString(s) {
					at(n, "reply text "+n.Value)
				}
			}
		}
		return true
	})
	return found
}

// TestRepliesOnlyFromTheTable: every reply code is written in replies.go,
// so that the codes are reviewed in one place; the rest of the engine names
// the table's entries.
func TestRepliesOnlyFromTheTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if name == "replies.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, l := range replyLiterals(fset, f) {
			t.Errorf("%s: reply codes belong in the reply table (replies.go)", l)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d files checked: the glob missed the package", checked)
	}
}

// TestReplyLiteralsFound: the check above finds each way of writing a code.
func TestReplyLiteralsFound(t *testing.T) {
	tests := []struct {
		src   string
		found int
	}{
		{`s.sendRaw("550 x")`, 1},
		{`s.reply(reply{550, "x"})`, 1},
		{`s.reply(reply{code: 550})`, 1},
		{`s.replyLines(250, "a", nil, "b")`, 1},
		{`s.writeReply(0x1F4, "x")`, 1},
		{`s.write("226-part\r\n")`, 1},
		{`s.reply(rOK, "fine")`, 0},
		{`s.replyLines(rFileOK.code, "a", nil, "b")`, 0},
		{`_ = 250 * time.Millisecond`, 0},
		{`_ = "127.0.0.1"`, 0},
		{`_ = reply{}`, 0},
	}
	for _, tt := range tests {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "x.go", "package p\nfunc f() {\n"+tt.src+"\n}\n", 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if got := replyLiterals(fset, f); len(got) != tt.found {
			t.Errorf("%s: found %v, want %d", tt.src, got, tt.found)
		}
	}
}

// TestCommandTablePermissions: the perms column gives each command the
// permission of what it does, and nothing that changes files is open to a
// user who may only list and read (anonymous users).
func TestCommandTablePermissions(t *testing.T) {
	wantPerms := map[string][]users.Permission{
		"RETR": {users.PermRead},
		"STOR": {users.PermWrite}, "STOU": {users.PermWrite}, "APPE": {users.PermWrite},
		"DELE": {users.PermDelete}, "RMD": {users.PermDelete}, "XRMD": {users.PermDelete},
		"MKD": {users.PermMakeDir}, "XMKD": {users.PermMakeDir},
		"RNFR": {users.PermRename},
		"LIST": {users.PermList}, "NLST": {users.PermList}, "MLSD": {users.PermList}, "MLST": {users.PermList},
		"SIZE": {users.PermList, users.PermRead}, "MDTM": {users.PermList, users.PermRead},
	}
	// Commands that change files; RNTO has no permission of its own because
	// it runs only right after an RNFR that had Rename.
	changes := []string{"STOR", "STOU", "APPE", "DELE", "RMD", "XRMD", "MKD", "XMKD", "RNFR"}
	readOnly := &users.User{Permissions: []users.Permission{users.PermList, users.PermRead}}
	table := newCommandTable()
	for name, c := range table {
		if !slices.Equal(c.perms, wantPerms[name]) {
			t.Errorf("%s: perms %v, want %v", name, c.perms, wantPerms[name])
		}
		if len(c.perms) == 0 {
			continue
		}
		if c.handler == nil {
			t.Errorf("%s: perms on a command without a handler", name)
		}
		if c.preLogin {
			t.Errorf("%s: perms on a preLogin command: there may be no user to hold them", name)
		}
		for _, p := range c.perms {
			if !p.Valid() {
				t.Errorf("%s: unknown permission %q", name, p)
			}
		}
	}
	for _, name := range changes {
		c := table[name]
		if c == nil {
			t.Fatalf("%s is not in the command table", name)
		}
		if permitted(readOnly, c.perms).allow {
			t.Errorf("%s changes files but a list-and-read user may run it", name)
		}
	}
	if c := table["RNTO"]; c == nil || len(c.perms) != 0 || c.preLogin {
		t.Errorf("RNTO: want a logged-in command guarded by RNFR, got %+v", c)
	}
}
