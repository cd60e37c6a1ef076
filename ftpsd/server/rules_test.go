package server

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// want is what a rule's decision must be: allowed or not, the reply code
// (0: no reply) and the metric reason.
type want struct {
	allow  bool
	code   int
	reason string
}

func checkDecision(t *testing.T, name string, d decision, w want) {
	t.Helper()
	if d.allow != w.allow || d.reply.code != w.code || d.reason != w.reason {
		t.Errorf("%s: got allow=%v code=%d reason=%q, want allow=%v code=%d reason=%q",
			name, d.allow, d.reply.code, d.reason, w.allow, w.code, w.reason)
	}
	if !d.allow && d.reason == "" && d.reply.code == 0 {
		t.Errorf("%s: a refusal with neither a reply nor a reason", name)
	}
}

var (
	allowedNoReply = want{allow: true}
	tlsRequired    = want{code: 530, reason: "tls_required"}
	ipClient       = netip.MustParseAddr("192.0.2.10")
)

func TestRuleCommandBeforeTLS(t *testing.T) {
	pre := &command{name: "FEAT", preTLS: true}
	other := &command{name: "PWD"}
	tests := []struct {
		require config.RequireTLS
		secured bool
		cmd     *command
		want    want
	}{
		{config.RequireTLSAllCommands, false, pre, allowedNoReply},
		{config.RequireTLSAllCommands, false, other, tlsRequired},
		{config.RequireTLSAllCommands, true, pre, allowedNoReply},
		{config.RequireTLSAllCommands, true, other, allowedNoReply},
		{config.RequireTLSLogin, false, other, allowedNoReply},
		{config.RequireTLSLogin, true, other, allowedNoReply},
		{config.RequireTLSOptional, false, other, allowedNoReply},
		{config.RequireTLSOptional, true, pre, allowedNoReply},
	}
	for _, tt := range tests {
		d := commandBeforeTLS(config.ControlPolicy{RequireTLS: tt.require}, sessionState{secured: tt.secured}, tt.cmd)
		checkDecision(t, fmt.Sprintf("%s secured=%v %s", tt.require, tt.secured, tt.cmd.name), d, tt.want)
	}
}

func TestRuleLoginInClear(t *testing.T) {
	login := &command{name: "USER", login: true}
	other := &command{name: "PWD"}
	anon := func(on bool, c config.AnonymousConnection) config.AnonymousPolicy {
		return config.AnonymousPolicy{Enabled: on, Connection: c}
	}
	tests := []struct {
		require config.RequireTLS
		anon    config.AnonymousPolicy
		secured bool
		cmd     *command
		verb    string
		name    string
		want    want
	}{
		{config.RequireTLSLogin, anon(false, ""), false, login, "USER", "alice", tlsRequired},
		{config.RequireTLSLogin, anon(false, ""), false, login, "PASS", "alice", tlsRequired},
		{config.RequireTLSLogin, anon(false, ""), false, login, "PASS", "", tlsRequired},
		{config.RequireTLSLogin, anon(false, ""), true, login, "USER", "alice", allowedNoReply},
		{config.RequireTLSLogin, anon(false, ""), false, other, "PWD", "", allowedNoReply},
		// clearLoginUsers.
		{config.RequireTLSLogin, anon(false, ""), false, login, "USER", "clear", allowedNoReply},
		{config.RequireTLSLogin, anon(false, ""), false, login, "PASS", "clear", allowedNoReply},
		// Anonymous: off means the name is an ordinary one.
		{config.RequireTLSLogin, anon(false, ""), false, login, "USER", "anonymous", tlsRequired},
		{config.RequireTLSLogin, anon(true, config.AnonymousAny), false, login, "USER", "anonymous", allowedNoReply},
		{config.RequireTLSLogin, anon(true, config.AnonymousAny), false, login, "PASS", "ftp", allowedNoReply},
		{config.RequireTLSLogin, anon(true, config.AnonymousClearOnly), false, login, "PASS", "anonymous", allowedNoReply},
		// TLSOnly: USER passes to answer with its own 530, PASS does not.
		{config.RequireTLSLogin, anon(true, config.AnonymousTLSOnly), false, login, "USER", "anonymous", allowedNoReply},
		{config.RequireTLSLogin, anon(true, config.AnonymousTLSOnly), false, login, "PASS", "anonymous", tlsRequired},
		// The other requireTLS values never apply this rule.
		{config.RequireTLSAllCommands, anon(false, ""), false, login, "USER", "alice", allowedNoReply},
		{config.RequireTLSOptional, anon(false, ""), false, login, "USER", "alice", allowedNoReply},
		{config.RequireTLSOptional, anon(false, ""), false, login, "PASS", "", allowedNoReply},
	}
	for _, tt := range tests {
		p := config.Policy{
			Control:        config.ControlPolicy{RequireTLS: tt.require, ClearLoginUsers: []string{"clear"}},
			Authentication: config.AuthenticationPolicy{Anonymous: tt.anon},
		}
		d := loginInClear(p, sessionState{secured: tt.secured}, tt.cmd, tt.verb, tt.name)
		checkDecision(t, fmt.Sprintf("%s anon=%+v secured=%v %s %q", tt.require, tt.anon, tt.secured, tt.verb, tt.name), d, tt.want)
	}
}

func TestRuleNeedsLogin(t *testing.T) {
	tests := []struct {
		preLogin, loggedIn bool
		want               want
	}{
		{true, false, allowedNoReply},
		{true, true, allowedNoReply},
		{false, true, allowedNoReply},
		{false, false, want{code: 530}},
	}
	for _, tt := range tests {
		d := needsLogin(sessionState{loggedIn: tt.loggedIn}, tt.preLogin)
		checkDecision(t, fmt.Sprintf("preLogin=%v loggedIn=%v", tt.preLogin, tt.loggedIn), d, tt.want)
	}
}

func TestRulePermitted(t *testing.T) {
	reader := &users.User{Permissions: []users.Permission{users.PermRead}}
	lister := &users.User{Permissions: []users.Permission{users.PermList}}
	denied := want{code: 550}
	tests := []struct {
		name  string
		user  *users.User
		perms []users.Permission
		want  want
	}{
		{"none needed", reader, nil, allowedNoReply},
		{"none needed, no user", nil, nil, allowedNoReply},
		{"held", reader, needRead, allowedNoReply},
		{"not held", reader, needWrite, denied},
		{"one of two", lister, needListOrRead, allowedNoReply},
		{"the other of two", reader, needListOrRead, allowedNoReply},
		{"neither", reader, needList, denied},
		{"no user", nil, needRead, denied},
	}
	for _, tt := range tests {
		checkDecision(t, tt.name, permitted(tt.user, tt.perms), tt.want)
	}
}

func TestRuleAnonymousLogin(t *testing.T) {
	refused := want{code: 530, reason: "anonymous_refused"}
	ok := want{allow: true, code: 331}
	// clear, TLS, and clear again after CCC (still secured).
	states := []sessionState{{}, {tls: true, secured: true}, {secured: true}}
	tests := []struct {
		enabled bool
		conn    config.AnonymousConnection
		want    [3]want
		texts   [3]reply
	}{
		{false, config.AnonymousAny, [3]want{refused, refused, refused}, [3]reply{rAnonDisabled, rAnonDisabled, rAnonDisabled}},
		{true, config.AnonymousAny, [3]want{ok, ok, ok}, [3]reply{rAnonPassword, rAnonPassword, rAnonPassword}},
		{true, config.AnonymousTLSOnly, [3]want{refused, ok, refused}, [3]reply{rAnonNeedsTLS, rAnonPassword, rAnonNeedsTLS}},
		{true, config.AnonymousClearOnly, [3]want{ok, refused, refused}, [3]reply{rAnonPassword, rAnonNeedsClear, rAnonNeedsClear}},
	}
	for _, tt := range tests {
		for i, st := range states {
			d := anonymousLogin(config.AnonymousPolicy{Enabled: tt.enabled, Connection: tt.conn}, st)
			name := fmt.Sprintf("enabled=%v %s %+v", tt.enabled, tt.conn, st)
			checkDecision(t, name, d, tt.want[i])
			if d.reply != tt.texts[i] {
				t.Errorf("%s: reply %v, want %v", name, d.reply, tt.texts[i])
			}
		}
	}
}

func TestRuleAuthTLS(t *testing.T) {
	tests := []struct {
		tls, ccc bool
		mech     string
		want     want
	}{
		{false, false, "TLS", want{allow: true, code: 234}},
		{false, false, "tls-c", want{allow: true, code: 234}},
		{false, false, " TLS ", want{allow: true, code: 234}},
		{false, false, "SSL", want{code: 504}},
		{false, false, "TLS-P", want{code: 504}},
		{false, false, "GSSAPI", want{code: 504}},
		{true, false, "TLS", want{code: 503}},
		{false, true, "TLS", want{code: 503}},
	}
	for _, tt := range tests {
		d := authTLS(sessionState{tls: tt.tls}, tt.ccc, tt.mech)
		checkDecision(t, fmt.Sprintf("tls=%v ccc=%v %q", tt.tls, tt.ccc, tt.mech), d, tt.want)
	}
}

func TestRulePBSZ(t *testing.T) {
	checkDecision(t, "clear", pbszAllowed(sessionState{}), want{code: 503})
	checkDecision(t, "after CCC", pbszAllowed(sessionState{secured: true}), want{code: 503})
	checkDecision(t, "TLS", pbszAllowed(sessionState{tls: true, secured: true}), want{allow: true, code: 200})
}

func TestRuleProtLevel(t *testing.T) {
	protections := []config.Protection{config.ProtectionPrivate, config.ProtectionPrivateExceptListings, config.ProtectionClientChoice, config.ProtectionClear}
	ready := sessionState{tls: true, secured: true, pbsz: true}
	for _, dp := range protections {
		// Out of sequence, whatever the policy.
		for _, st := range []sessionState{{}, {tls: true, secured: true}, {pbsz: true}} {
			_, d := protLevel(dp, st, "P")
			checkDecision(t, fmt.Sprintf("%s %+v", dp, st), d, want{code: 503})
		}
		for _, lvl := range []string{"S", "e"} {
			_, d := protLevel(dp, ready, lvl)
			checkDecision(t, fmt.Sprintf("%s %s", dp, lvl), d, want{code: 536})
		}
		_, d := protLevel(dp, ready, "X")
		checkDecision(t, fmt.Sprintf("%s X", dp), d, want{code: 504})
	}
	tests := []struct {
		dp    config.Protection
		arg   string
		level byte
		want  want
	}{
		{config.ProtectionPrivate, "C", 0, want{code: 534}},
		{config.ProtectionPrivate, "P", 'P', want{allow: true, code: 200}},
		{config.ProtectionPrivateExceptListings, "C", 'C', want{allow: true, code: 200}},
		{config.ProtectionPrivateExceptListings, "p", 'P', want{allow: true, code: 200}},
		{config.ProtectionClientChoice, "C", 'C', want{allow: true, code: 200}},
		{config.ProtectionClientChoice, " P ", 'P', want{allow: true, code: 200}},
		{config.ProtectionClear, "C", 'C', want{allow: true, code: 200}},
		{config.ProtectionClear, "P", 0, want{code: 534}},
	}
	for _, tt := range tests {
		level, d := protLevel(tt.dp, ready, tt.arg)
		name := fmt.Sprintf("%s %q", tt.dp, tt.arg)
		checkDecision(t, name, d, tt.want)
		if level != tt.level {
			t.Errorf("%s: level %q, want %q", name, level, tt.level)
		}
	}
}

func TestRuleCCC(t *testing.T) {
	tests := []struct {
		mode          config.CCCMode
		tls, loggedIn bool
		want          want
	}{
		{config.CCCDeny, false, false, want{code: 533}},
		{config.CCCDeny, false, true, want{code: 533}},
		{config.CCCDeny, true, false, want{code: 534}},
		{config.CCCDeny, true, true, want{code: 534}},
		{config.CCCAllowAfterLogin, false, false, want{code: 533}},
		{config.CCCAllowAfterLogin, false, true, want{code: 533}},
		{config.CCCAllowAfterLogin, true, false, want{code: 534}},
		{config.CCCAllowAfterLogin, true, true, want{allow: true, code: 200}},
	}
	for _, tt := range tests {
		d := cccAllowed(tt.mode, sessionState{tls: tt.tls, secured: tt.tls, loggedIn: tt.loggedIn})
		checkDecision(t, fmt.Sprintf("%s tls=%v loggedIn=%v", tt.mode, tt.tls, tt.loggedIn), d, tt.want)
	}
}

func TestRulePassiveAllowed(t *testing.T) {
	checkDecision(t, "plain", passiveAllowed(sessionState{}), allowedNoReply)
	checkDecision(t, "EPSV ALL", passiveAllowed(sessionState{epsvAll: true}), want{code: 503})
}

func TestRuleActiveMode(t *testing.T) {
	tests := []struct {
		mode    config.ActiveMode
		epsvAll bool
		want    want
	}{
		{config.ActiveModeDisabled, false, want{code: 502, reason: "active_disabled"}},
		{config.ActiveModeDisabled, true, want{code: 502, reason: "active_disabled"}},
		{"", false, want{code: 502, reason: "active_disabled"}},
		{config.ActiveModeClientAddressOnly, false, allowedNoReply},
		{config.ActiveModeClientAddressOnly, true, want{code: 503}},
	}
	for _, tt := range tests {
		d := activeMode(tt.mode, sessionState{epsvAll: tt.epsvAll})
		checkDecision(t, fmt.Sprintf("%q epsvAll=%v", tt.mode, tt.epsvAll), d, tt.want)
	}
}

func TestRuleActiveTarget(t *testing.T) {
	ip6 := netip.MustParseAddr("2001:db8::10")
	tests := []struct {
		name     string
		clientIP netip.Addr
		target   string
		dial     string
		want     want
	}{
		{"own address", ipClient, "192.0.2.10:2000", "192.0.2.10:2000", want{allow: true, code: 200}},
		{"own address, v4-mapped", ipClient, "[::ffff:192.0.2.10]:2000", "192.0.2.10:2000", want{allow: true, code: 200}},
		{"own v6 address", ip6, "[2001:db8::10]:1024", "[2001:db8::10]:1024", want{allow: true, code: 200}},
		{"third party", ipClient, "192.0.2.11:2000", "", want{code: 504, reason: "active_foreign_address"}},
		{"third party, privileged", ipClient, "192.0.2.11:21", "", want{code: 504, reason: "active_foreign_address"}},
		{"privileged port", ipClient, "192.0.2.10:1023", "", want{code: 504, reason: "active_privileged_port"}},
	}
	for _, tt := range tests {
		dial, d := activeTarget(sessionState{clientIP: tt.clientIP}, netip.MustParseAddrPort(tt.target))
		checkDecision(t, tt.name, d, tt.want)
		if got := dial.String(); (tt.dial == "" && dial.IsValid()) || (tt.dial != "" && got != tt.dial) {
			t.Errorf("%s: dials %s, want %q", tt.name, got, tt.dial)
		}
	}
}

func TestRuleDataProtection(t *testing.T) {
	refused := want{code: 521, reason: "refused"}
	tests := []struct {
		dp      config.Protection
		prot    byte
		listing bool
		want    want
		args    []any
	}{
		{config.ProtectionPrivate, 'C', false, refused, []any{"C", "P"}},
		{config.ProtectionPrivate, 'C', true, refused, []any{"C", "P"}},
		{config.ProtectionPrivate, 'P', false, allowedNoReply, nil},
		{config.ProtectionPrivate, 'P', true, allowedNoReply, nil},
		{config.ProtectionPrivateExceptListings, 'C', false, refused, []any{"C", "P"}},
		{config.ProtectionPrivateExceptListings, 'C', true, allowedNoReply, nil},
		{config.ProtectionPrivateExceptListings, 'P', false, allowedNoReply, nil},
		{config.ProtectionPrivateExceptListings, 'P', true, allowedNoReply, nil},
		{config.ProtectionClientChoice, 'C', false, allowedNoReply, nil},
		{config.ProtectionClientChoice, 'C', true, allowedNoReply, nil},
		{config.ProtectionClientChoice, 'P', false, allowedNoReply, nil},
		{config.ProtectionClientChoice, 'P', true, allowedNoReply, nil},
		{config.ProtectionClear, 'C', false, allowedNoReply, nil},
		{config.ProtectionClear, 'C', true, allowedNoReply, nil},
		{config.ProtectionClear, 'P', false, refused, []any{"P", "C"}},
		{config.ProtectionClear, 'P', true, refused, []any{"P", "C"}},
	}
	for _, tt := range tests {
		d := dataProtection(tt.dp, sessionState{prot: tt.prot}, tt.listing)
		name := fmt.Sprintf("%s PROT %c listing=%v", tt.dp, tt.prot, tt.listing)
		checkDecision(t, name, d, tt.want)
		if fmt.Sprint(d.args) != fmt.Sprint(tt.args) {
			t.Errorf("%s: args %v, want %v", name, d.args, tt.args)
		}
	}
}

func TestRuleDataPeer(t *testing.T) {
	other := netip.MustParseAddr("192.0.2.99")
	foreign := want{reason: "foreign_address"}
	checkDecision(t, "required, same", dataPeer(true, ipClient, ipClient), allowedNoReply)
	checkDecision(t, "required, foreign", dataPeer(true, ipClient, other), foreign)
	checkDecision(t, "not required, same", dataPeer(false, ipClient, ipClient), allowedNoReply)
	checkDecision(t, "not required, foreign", dataPeer(false, ipClient, other), allowedNoReply)
}

func TestRuleDataTLS(t *testing.T) {
	yes, no := true, false
	notResumed := want{code: 522, reason: "tls_not_resumed"}
	otherCert := want{code: 522, reason: "client_certificate"}
	tests := []struct {
		reuse             config.SessionReuse
		sameCertRequired  *bool
		resumed, sameCert bool
		want              want
	}{
		{config.SessionReuseRequired, &yes, true, true, allowedNoReply},
		{config.SessionReuseRequired, &yes, false, true, notResumed},
		{config.SessionReuseRequired, &yes, false, false, notResumed},
		{config.SessionReuseRequired, &yes, true, false, otherCert},
		{config.SessionReuseRequired, &no, true, false, allowedNoReply},
		{config.SessionReuseRequired, &no, false, false, notResumed},
		{config.SessionReuseOptional, &yes, false, true, allowedNoReply},
		{config.SessionReuseOptional, &yes, false, false, otherCert},
		{config.SessionReuseOptional, &no, false, false, allowedNoReply},
		{config.SessionReuseOptional, nil, true, false, otherCert}, // unset is the default, true
	}
	for _, tt := range tests {
		dp := config.DataPolicy{SessionReuse: tt.reuse, RequireSameClientCertificate: tt.sameCertRequired}
		d := dataTLS(dp, tt.resumed, tt.sameCert)
		name := fmt.Sprintf("%s sameCertRequired=%v resumed=%v sameCert=%v", tt.reuse, tt.sameCertRequired != nil && *tt.sameCertRequired, tt.resumed, tt.sameCert)
		checkDecision(t, name, d, tt.want)
		if !d.allow {
			if _, ok := dataTLSRefusal[d.reason]; !ok {
				t.Errorf("%s: reason %q has no log text", name, d.reason)
			}
		}
	}
}
