package server

import (
	"net/netip"
	"strings"

	"github.com/ftps-operator/ftps-operator/ftpsd/config"
	"github.com/ftps-operator/ftps-operator/ftpsd/users"
)

// The engine's rules: what RFC 4217 and the policy let a session do, as pure
// functions of the policy and a sessionState. They do no I/O and never touch
// a *session, so that each can be tested as a table; the session gathers its
// state, asks the rule, and sends the reply and counts the reason itself.

// sessionState is what the rules need to know about a session.
type sessionState struct {
	tls      bool // the control connection is protected now
	secured  bool // protected now, or was before CCC (see session.secured)
	pbsz     bool // PBSZ 0 was accepted
	prot     byte // the data protection level: 'C' or 'P'
	loggedIn bool
	epsvAll  bool       // EPSV ALL is in force
	clientIP netip.Addr // the control connection's client
}

// state is the session's sessionState, for the rules.
func (s *session) state() sessionState {
	return sessionState{
		tls:      s.tlsConn != nil,
		secured:  s.secured(),
		pbsz:     s.pbsz,
		prot:     s.prot,
		loggedIn: s.loggedIn(),
		epsvAll:  s.epsvAll,
		clientIP: s.clientIP,
	}
}

// decision is a rule's answer. A refusal carries the reply to send (with the
// arguments for its verbs) and the metric label it is counted under ("" when
// no counter counts it); a permission may carry the reply that confirms it.
type decision struct {
	allow  bool
	reply  reply
	args   []any
	reason string
}

var allowed = decision{allow: true}

func allow(r reply, args ...any) decision { return decision{allow: true, reply: r, args: args} }

func deny(reason string, r reply, args ...any) decision {
	return decision{reply: r, args: args, reason: reason}
}

// commandBeforeTLS: under requireTLS AllCommands only the preTLS commands
// run on a control connection that is not (and never was) protected.
func commandBeforeTLS(p config.ControlPolicy, st sessionState, cmd *command) decision {
	if st.secured || p.RequireTLS != config.RequireTLSAllCommands || cmd.preTLS {
		return allowed
	}
	return deny("tls_required", rTLSRequired)
}

// loginInClear: under requireTLS Login, USER, PASS and ACCT need TLS, except
// for policy.control.clearLoginUsers and the anonymous connections the
// policy allows. name is the user the command logs in (USER's argument, or
// the pending user of PASS and ACCT).
func loginInClear(p config.Policy, st sessionState, cmd *command, verb, name string) decision {
	if st.secured || p.Control.RequireTLS != config.RequireTLSLogin || !cmd.login || clearLoginAllowed(p, verb, name) {
		return allowed
	}
	return deny("tls_required", rTLSRequired)
}

// clearLoginAllowed: policy.control.clearLoginUsers may log in without TLS.
func clearLoginAllowed(p config.Policy, verb, name string) bool {
	if name == "" {
		return false
	}
	if a := p.Authentication.Anonymous; isAnonymous(name) && a.Enabled {
		// The policy names the connections anonymous logins may use; USER
		// answers with its own 530 when this is not one of them.
		return a.Connection != config.AnonymousTLSOnly || verb == "USER"
	}
	for _, u := range p.Control.ClearLoginUsers {
		if u == name {
			return true
		}
	}
	return false
}

// needsLogin: only the preLogin commands run before a login.
func needsLogin(st sessionState, preLogin bool) decision {
	if preLogin || st.loggedIn {
		return allowed
	}
	return deny("", rNotLoggedIn)
}

// permitted: the user holds one of perms (none: nothing is needed).
func permitted(u *users.User, perms []users.Permission) decision {
	if len(perms) == 0 {
		return allowed
	}
	for _, p := range perms {
		if u != nil && u.Can(p) {
			return allowed
		}
	}
	return deny("", rFileUnavailable, "Permission denied")
}

// anonymousLogin applies policy.authentication.anonymous to the connection:
// enabled, and over the kind of connection it names.
func anonymousLogin(a config.AnonymousPolicy, st sessionState) decision {
	switch {
	case !a.Enabled:
		return deny("anonymous_refused", rAnonDisabled)
	case a.Connection == config.AnonymousTLSOnly && !st.tls:
		return deny("anonymous_refused", rAnonNeedsTLS)
	case a.Connection == config.AnonymousClearOnly && st.secured:
		return deny("anonymous_refused", rAnonNeedsClear)
	}
	return allow(rAnonPassword)
}

// authTLS: AUTH once, and only TLS (RFC 4217 section 4; TLS-C is its
// synonym, SSL and TLS-P are not offered).
func authTLS(st sessionState, ccc bool, mech string) decision {
	if st.tls || ccc {
		return deny("", rBadSequence, "the control connection is already protected")
	}
	switch m := strings.ToUpper(strings.TrimSpace(mech)); m {
	case "TLS", "TLS-C":
		return allow(rAuthOK)
	case "SSL", "TLS-P":
		return deny("", rParamNotImpl, "AUTH "+strings.ToUpper(mech)+" not supported; use AUTH TLS")
	default:
		return deny("", rParamNotImpl, "unknown security mechanism; use AUTH TLS")
	}
}

// pbszAllowed: PBSZ needs a protected control connection (RFC 4217 section 8).
func pbszAllowed(st sessionState) decision {
	if !st.tls {
		return deny("", rBadSequence, "PBSZ needs a protected control connection (AUTH TLS)")
	}
	return allow(rPBSZ)
}

// protLevel: PROT needs AUTH TLS and PBSZ, and policy.data.protection
// decides which of C and P it accepts; S and E are never offered. level is
// the protection level set when allowed.
func protLevel(dp config.Protection, st sessionState, arg string) (level byte, d decision) {
	if !st.tls || !st.pbsz {
		return 0, deny("", rBadSequence, "PROT needs AUTH TLS and PBSZ first")
	}
	switch l := strings.ToUpper(strings.TrimSpace(arg)); l {
	case "C":
		if dp == config.ProtectionPrivate {
			return 0, deny("", rPolicyDenied, "data connections must be protected (PROT P)")
		}
		return 'C', allow(rPROT, "Clear")
	case "P":
		if dp == config.ProtectionClear {
			return 0, deny("", rPolicyDenied, "data connections must be clear (PROT C)")
		}
		return 'P', allow(rPROT, "Private")
	case "S", "E":
		return 0, deny("", rProtUnsupported, l)
	default:
		return 0, deny("", rParamNotImpl, "PROT is C or P")
	}
}

// cccAllowed: CCC clears a protected control connection, when the policy
// allows it and only after login.
func cccAllowed(m config.CCCMode, st sessionState) decision {
	switch {
	case !st.tls:
		return deny("", rCCCNotProtected)
	case m != config.CCCAllowAfterLogin:
		return deny("", rPolicyDenied, "CCC is not allowed")
	case !st.loggedIn:
		return deny("", rPolicyDenied, "CCC is allowed only after login")
	}
	return allow(rCCC)
}

// passiveAllowed: after EPSV ALL only EPSV sets up a data connection (RFC
// 2428 section 4).
func passiveAllowed(st sessionState) decision {
	if st.epsvAll {
		return deny("", rBadSequence, "EPSV ALL is in force; use EPSV")
	}
	return allowed
}

// activeMode: PORT and EPRT run only under activeMode ClientAddressOnly. 502
// ("command not implemented") rather than 504 or 534: under this policy the
// server behaves as one without active mode, and every client takes a 502 to
// PORT/EPRT as "use passive mode", which is what we want them to do.
func activeMode(m config.ActiveMode, st sessionState) decision {
	if m != config.ActiveModeClientAddressOnly {
		return deny("active_disabled", rActiveDisabled)
	}
	return passiveAllowed(st)
}

// activeTarget: active mode connects only to the client's own address and
// never to a privileged port (RFC 2577: 504 for a parameter we refuse to
// honour). target is the address to dial when allowed.
func activeTarget(st sessionState, ap netip.AddrPort) (target netip.AddrPort, d decision) {
	ip := ap.Addr().Unmap()
	if ip != st.clientIP {
		return netip.AddrPort{}, deny("active_foreign_address", rParamNotImpl, "active mode connects only to the control connection's own address")
	}
	if ap.Port() < 1024 {
		return netip.AddrPort{}, deny("active_privileged_port", rParamNotImpl, "active mode refuses ports below 1024")
	}
	return netip.AddrPortFrom(ip, ap.Port()), allow(rOK, "Active mode data connection target accepted")
}

// dataProtection applies policy.data.protection to the PROT level on every
// command that opens a data connection (listing: LIST, NLST, MLSD). The
// refusal names the level to switch to; it is counted as a refused transfer.
func dataProtection(dp config.Protection, st sessionState, listing bool) decision {
	ok := true
	switch dp {
	case config.ProtectionPrivate:
		ok = st.prot == 'P'
	case config.ProtectionPrivateExceptListings:
		ok = st.prot == 'P' || listing
	case config.ProtectionClear:
		ok = st.prot == 'C'
	}
	if ok {
		return allowed
	}
	want := "P"
	if st.prot == 'P' {
		want = "C"
	}
	return deny("refused", rProtPolicy, string(st.prot), want)
}

// dataPeer: with policy.data.requireSameAddress a passive port takes its
// data connection only from the control connection's client (RFC 4217
// section 10, RFC 2577); another peer is closed without a reply.
func dataPeer(requireSame bool, clientIP, peer netip.Addr) decision {
	if requireSame && peer != clientIP {
		return deny("foreign_address", reply{})
	}
	return allowed
}

// dataTLS: a protected data connection must resume the control connection's
// TLS session under sessionReuse Required, and carry its client certificate
// under requireSameClientCertificate (RFC 4217 sections 10 and 15).
func dataTLS(dp config.DataPolicy, resumed, sameCert bool) decision {
	if dp.SessionReuse == config.SessionReuseRequired && !resumed {
		return deny("tls_not_resumed", rDataTLSFailed)
	}
	// Unset is the default, true.
	if (dp.RequireSameClientCertificate == nil || *dp.RequireSameClientCertificate) && !sameCert {
		return deny("client_certificate", rDataTLSFailed)
	}
	return allowed
}
