package server

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// command is one row of the command table.
type command struct {
	name           string
	preLogin       bool // allowed before login
	preTLS         bool // allowed before AUTH TLS under requireTLS: AllCommands
	login          bool // USER/PASS/ACCT: refused in clear under requireTLS: Login
	needsArg       bool
	dataConn       bool // opens a data connection (protection is checked on it)
	duringTransfer bool // handled at once while a transfer runs (others wait for it)
	// perms: the user must hold one of these (checked in dispatch, after the
	// login); none means no permission is needed.
	perms   []users.Permission
	handler func(s *session, arg string)
}

// The permissions of the command table's perms column.
var (
	needList       = []users.Permission{users.PermList}
	needRead       = []users.Permission{users.PermRead}
	needListOrRead = []users.Permission{users.PermList, users.PermRead}
	needWrite      = []users.Permission{users.PermWrite}
	needDelete     = []users.Permission{users.PermDelete}
	needRename     = []users.Permission{users.PermRename}
	needMakeDir    = []users.Permission{users.PermMakeDir}
)

// newCommandTable builds the command table of one Server. A nil handler means
// "recognised but not implemented" (502).
func newCommandTable() map[string]*command {
	list := []command{
		// Access control.
		{name: "USER", preLogin: true, login: true, needsArg: true, handler: (*session).cmdUSER},
		{name: "PASS", preLogin: true, login: true, handler: (*session).cmdPASS},
		{name: "ACCT", preLogin: true, login: true, handler: (*session).cmdACCT},
		{name: "CWD", needsArg: true, handler: (*session).cmdCWD},
		{name: "XCWD", needsArg: true, handler: (*session).cmdCWD},
		{name: "CDUP", handler: (*session).cmdCDUP},
		{name: "XCUP", handler: (*session).cmdCDUP},
		{name: "REIN", preLogin: true, handler: (*session).cmdREIN},
		{name: "QUIT", preLogin: true, preTLS: true, duringTransfer: true, handler: (*session).cmdQUIT},
		// Security (RFC 2228, RFC 4217).
		{name: "AUTH", preLogin: true, preTLS: true, needsArg: true, handler: (*session).cmdAUTH},
		{name: "PBSZ", preLogin: true, needsArg: true, handler: (*session).cmdPBSZ},
		{name: "PROT", preLogin: true, needsArg: true, handler: (*session).cmdPROT},
		{name: "CCC", preLogin: true, handler: (*session).cmdCCC},
		{name: "ADAT", preLogin: true, preTLS: true},
		{name: "MIC", preLogin: true},
		{name: "CONF", preLogin: true},
		{name: "ENC", preLogin: true},
		// Transfer parameters.
		{name: "PORT", needsArg: true, handler: (*session).cmdPORT},
		{name: "EPRT", needsArg: true, handler: (*session).cmdEPRT},
		{name: "PASV", handler: (*session).cmdPASV},
		{name: "EPSV", handler: (*session).cmdEPSV},
		{name: "LPRT"},
		{name: "LPSV"},
		{name: "TYPE", needsArg: true, handler: (*session).cmdTYPE},
		{name: "STRU", needsArg: true, handler: (*session).cmdSTRU},
		{name: "MODE", needsArg: true, handler: (*session).cmdMODE},
		// Service commands.
		{name: "RETR", needsArg: true, dataConn: true, perms: needRead, handler: (*session).cmdRETR},
		{name: "STOR", needsArg: true, dataConn: true, perms: needWrite, handler: (*session).cmdSTOR},
		{name: "STOU", dataConn: true, perms: needWrite, handler: (*session).cmdSTOU},
		{name: "APPE", needsArg: true, dataConn: true, perms: needWrite, handler: (*session).cmdAPPE},
		{name: "ALLO", handler: (*session).cmdALLO},
		{name: "REST", needsArg: true, handler: (*session).cmdREST},
		{name: "RNFR", needsArg: true, perms: needRename, handler: (*session).cmdRNFR},
		{name: "RNTO", needsArg: true, handler: (*session).cmdRNTO},
		{name: "ABOR", duringTransfer: true, handler: (*session).cmdABOR},
		{name: "DELE", needsArg: true, perms: needDelete, handler: (*session).cmdDELE},
		{name: "RMD", needsArg: true, perms: needDelete, handler: (*session).cmdRMD},
		{name: "XRMD", needsArg: true, perms: needDelete, handler: (*session).cmdRMD},
		{name: "MKD", needsArg: true, perms: needMakeDir, handler: (*session).cmdMKD},
		{name: "XMKD", needsArg: true, perms: needMakeDir, handler: (*session).cmdMKD},
		{name: "PWD", handler: (*session).cmdPWD},
		{name: "XPWD", handler: (*session).cmdPWD},
		{name: "LIST", dataConn: true, perms: needList, handler: (*session).cmdLIST},
		{name: "NLST", dataConn: true, perms: needList, handler: (*session).cmdNLST},
		{name: "MLSD", dataConn: true, perms: needList, handler: (*session).cmdMLSD},
		{name: "MLST", perms: needList, handler: (*session).cmdMLST},
		{name: "SIZE", needsArg: true, perms: needListOrRead, handler: (*session).cmdSIZE},
		{name: "MDTM", needsArg: true, perms: needListOrRead, handler: (*session).cmdMDTM},
		{name: "SITE"},
		{name: "SMNT"},
		{name: "SYST", preLogin: true, preTLS: true, handler: (*session).cmdSYST},
		{name: "STAT", preLogin: true, duringTransfer: true, handler: (*session).cmdSTAT},
		{name: "HELP", preLogin: true, preTLS: true, handler: (*session).cmdHELP},
		{name: "NOOP", preLogin: true, preTLS: true, handler: (*session).cmdNOOP},
		// RFC 2389.
		{name: "FEAT", preLogin: true, preTLS: true, handler: (*session).cmdFEAT},
		{name: "OPTS", preLogin: true, needsArg: true, handler: (*session).cmdOPTS},
	}
	t := make(map[string]*command, len(list))
	for i := range list {
		t[list[i].name] = &list[i]
	}
	return t
}

func (s *session) cmdUSER(arg string) {
	name := strings.TrimSpace(arg)
	if s.loggedIn() {
		// A new USER starts a new login; the data settings stay.
		s.closeHome()
		s.user = nil
		s.cwd = "/"
	}
	s.pendingAnon = false
	if isAnonymous(name) {
		s.pendingUser = ""
		d := anonymousLogin(s.cfg.Policy.Authentication.Anonymous, s.state())
		if !d.allow {
			s.srv.metrics.Login(false, d.reason)
			s.answer(d)
			return
		}
		s.pendingUser, s.pendingAnon = name, true
		s.answer(d)
		return
	}
	if s.certificateLogin(name) {
		return
	}
	s.pendingUser = name
	s.reply(rNeedPassword, name)
}

// isAnonymous: the user names of anonymous FTP (RFC 1635).
func isAnonymous(name string) bool {
	return strings.EqualFold(name, "anonymous") || strings.EqualFold(name, "ftp")
}

// anonymousUser is the read-only user of anonymous logins.
func (s *session) anonymousUser() *users.User {
	home := s.cfg.Anonymous.Home
	if home == "" {
		home = config.DefaultAnonymousHome
	}
	return &users.User{Username: "anonymous", Home: home, Permissions: []users.Permission{users.PermList, users.PermRead}}
}

// certificateLogin logs the user in with 232 when the policy says a client
// certificate is sufficient and the control connection's verified
// certificate maps to that user (RFC 4217 section 9).
func (s *session) certificateLogin(name string) bool {
	if s.cfg.Policy.Authentication.ClientCertificate != config.ClientCertificateSufficient || s.tlsConn == nil || s.peerLeaf == nil {
		return false
	}
	u, err := s.srv.users.AuthenticateCertificate(name, s.peerLeaf)
	if err != nil {
		return false // fall back to a password
	}
	if err := s.openHome(u); err != nil {
		s.log.Warn("certificate login: home", "user", name, "error", err)
		return false
	}
	s.user = u
	s.cwd = "/"
	s.srv.metrics.Login(true, "certificate")
	s.log.Info("login", "user", name, "tls", true, "method", "certificate")
	s.reply(rLoggedInCert, name)
	return true
}

func (s *session) cmdPASS(arg string) {
	if s.pendingUser == "" || s.loggedIn() {
		s.reply(rBadSequence, "send USER first")
		return
	}
	name := s.pendingUser
	anon := s.pendingAnon
	s.pendingUser, s.pendingAnon = "", false
	if anon {
		// Any password (by custom an e-mail address); never logged.
		u := s.anonymousUser()
		if err := s.openHome(u); err != nil {
			s.log.Warn("anonymous login: home", "error", err)
			s.srv.metrics.Login(false, "home")
			s.reply(rLoginFailed)
			return
		}
		s.user = u
		s.cwd = "/"
		s.srv.metrics.Login(true, "anonymous")
		s.log.Info("login", "user", "anonymous", "tls", s.tlsConn != nil, "method", "anonymous")
		s.reply(rLoggedInAnon)
		return
	}
	u, err := s.srv.users.Authenticate(name, arg)
	if err != nil {
		s.loginFailed(name, err)
		return
	}
	if err := s.openHome(u); err != nil {
		// The credentials were right: a server-side failure (a full
		// descriptor table, a broken volume) must not count towards a ban.
		s.log.Warn("login: home", "user", name, "error", err)
		s.srv.metrics.Login(false, "home")
		s.reply(rLoginFailed)
		return
	}
	s.user = u
	s.cwd = "/"
	s.srv.metrics.Login(true, "password")
	s.log.Info("login", "user", name, "tls", s.tlsConn != nil, "method", "password")
	s.reply(rLoggedIn, name)
}

// loginFailed counts a failure towards the client address's ban and the
// session's own limit, and answers after a delay that doubles with each
// failure of the session (only this session waits).
func (s *session) loginFailed(name string, err error) {
	s.loginFailures++
	reason := loginFailureReason(err)
	s.srv.metrics.Login(false, loginFailureLabel(err))
	s.log.Info("login failed", "user", name, "reason", reason, "failures", s.loginFailures)
	lim := s.cfg.Limits
	if s.srv.bans.failure(s.clientIP, lim.MaxLoginFailures, lim.BanDuration.Duration) {
		s.srv.metrics.Ban()
		s.log.Warn("client address banned", "client", s.clientIP.String(), "duration", lim.BanDuration.Duration.String())
		s.reply(rTooManyFailures)
		s.end("banned")
		return
	}
	if d := loginDelay(s.srv.loginDelay, s.srv.maxLoginDelay, s.loginFailures); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.quit:
			t.Stop()
			return
		}
	}
	if m := lim.MaxLoginFailures; m > 0 && s.loginFailures >= m {
		s.reply(rTooManyFailures)
		s.end("login_failures")
		return
	}
	s.reply(rLoginFailed)
}

// loginFailureLabel is the metrics label of a failed login: one of a fixed
// set, never an error text (which would make a label per path or user).
func loginFailureLabel(err error) string {
	switch {
	case errors.Is(err, users.ErrInvalidCredentials):
		return "invalid_credentials"
	case errors.Is(err, users.ErrDisabled):
		return "disabled"
	default:
		return "other"
	}
}

func loginFailureReason(err error) string {
	switch {
	case errors.Is(err, users.ErrInvalidCredentials):
		return "invalid credentials"
	case errors.Is(err, users.ErrDisabled):
		return "disabled"
	default:
		return err.Error()
	}
}

// openHome opens the user's home under the server root (creating it), as an
// os.Root that confines every later file operation.
func (s *session) openHome(u *users.User) error {
	dir := u.HomeDir()
	home, err := s.srv.homes.acquire(dir)
	if err != nil {
		return err
	}
	s.home, s.homeDir = home, dir
	return nil
}

// closeHome lets go of the session's home root.
func (s *session) closeHome() {
	if s.home != nil {
		s.srv.homes.release(s.homeDir)
		s.home, s.homeDir = nil, ""
	}
}

func (s *session) cmdACCT(string) { s.reply(rSuperfluous, "ACCT") }

func (s *session) cmdQUIT(string) {
	s.waitTransfer()
	s.reply(rGoodbye)
	s.end("quit")
}

func (s *session) cmdNOOP(string) { s.reply(rOK, "NOOP ok") }
func (s *session) cmdSYST(string) { s.reply(rSystem) }
func (s *session) cmdALLO(string) { s.reply(rSuperfluous, "ALLO") }

func (s *session) cmdHELP(string) {
	names := make([]string, 0, len(s.srv.commands))
	for n, c := range s.srv.commands {
		if c.handler != nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var lines []string
	for i := 0; i < len(names); i += 10 {
		lines = append(lines, strings.Join(names[i:min(i+10, len(names))], " "))
	}
	s.replyLines(rHelp.code, "The following commands are recognized:", lines, "Help OK")
}

func (s *session) activeModeOn() bool {
	return s.cfg.Policy.Data.ActiveMode == config.ActiveModeClientAddressOnly
}

func (s *session) cmdFEAT(string) {
	feats := []string{"AUTH TLS", "PBSZ", "PROT"}
	if s.cfg.Policy.Control.CCC == config.CCCAllowAfterLogin {
		feats = append(feats, "CCC")
	}
	feats = append(feats, "SIZE", "MDTM", "REST STREAM", "MLST type*;size*;modify*;perm*;unique*;", "UTF8", "EPSV")
	if s.activeModeOn() {
		feats = append(feats, "EPRT")
	}
	feats = append(feats, "TVFS")
	s.replyLines(rSystemStatus.code, "Features:", feats, "End")
}

func (s *session) cmdOPTS(arg string) {
	opt, val, _ := strings.Cut(strings.TrimSpace(arg), " ")
	switch strings.ToUpper(opt) {
	case "UTF8", "UTF-8":
		if v := strings.ToUpper(strings.TrimSpace(val)); v == "ON" || v == "" {
			s.reply(rOK, "UTF8 mode always on")
			return
		}
		s.reply(rParamNotImpl, "UTF8 cannot be switched off")
	case "MLST":
		// Every fact is always sent; accept the request and report the set.
		s.reply(rOK, "MLST OPTS type;size;modify;perm;unique;")
	default:
		s.reply(rSyntax, "unknown option")
	}
}

func (s *session) cmdTYPE(arg string) {
	f := strings.Fields(strings.ToUpper(arg))
	switch {
	case len(f) >= 1 && f[0] == "I" && len(f) == 1:
		s.typ = 'I'
		s.reply(rTypeOK, "I")
	case len(f) == 2 && f[0] == "L" && f[1] == "8":
		s.typ = 'I'
		s.reply(rTypeOK, "L 8")
	case len(f) >= 1 && f[0] == "A" && (len(f) == 1 || (len(f) == 2 && f[1] == "N")):
		s.typ = 'A'
		s.reply(rTypeOK, "A")
	case len(f) >= 1 && (f[0] == "E" || f[0] == "A" || f[0] == "L"):
		s.reply(rParamNotImpl, "TYPE "+strings.Join(f, " ")+" not supported")
	default:
		s.reply(rSyntax, "TYPE is A, I or L 8")
	}
}

func (s *session) cmdMODE(arg string) {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "S":
		s.reply(rOK, "Mode set to S")
	case "B", "C", "Z":
		s.reply(rParamNotImpl, "only MODE S is supported")
	default:
		s.reply(rSyntax, "MODE is S, B or C")
	}
}

func (s *session) cmdSTRU(arg string) {
	switch strings.ToUpper(strings.TrimSpace(arg)) {
	case "F":
		s.reply(rOK, "Structure set to F")
	case "R", "P":
		s.reply(rParamNotImpl, "only STRU F is supported")
	default:
		s.reply(rSyntax, "STRU is F, R or P")
	}
}

func (s *session) cmdSTAT(arg string) {
	if t := s.activeXfer(); t != nil { // not one that has ended since
		s.replyLines(rSystemStatus.code, "Transfer status:", []string{
			fmt.Sprintf("%s: %d bytes so far", t.desc, t.bytes.Load()),
		}, "End of status")
		return
	}
	if strings.TrimSpace(arg) != "" {
		if d := needsLogin(s.state(), false); !d.allow {
			s.answer(d)
			return
		}
		s.statPath(arg)
		return
	}
	user := "not logged in"
	if s.loggedIn() {
		user = "logged in as " + s.user.Username
	}
	prot := "clear"
	if s.tlsConn != nil {
		prot = "TLS"
	}
	s.replyLines(rSystemStatus.code, "ftpsd status:", []string{
		"Connected from " + s.clientIP.String(),
		user,
		"Control connection: " + prot,
		fmt.Sprintf("TYPE %c, STRU F, MODE S, PROT %c", s.typ, s.prot),
		"Session time " + time.Since(s.connectedAt).Round(time.Second).String(),
	}, "End of status")
}
