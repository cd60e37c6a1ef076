package server

// reply is one entry of the reply table: a code and its default text. Texts
// with verbs are formatted by session.replyf.
type reply struct {
	code int
	text string
}

// The reply table. Every reply the engine sends comes from here, so that the
// codes (RFC 959 section 4.2, RFC 2228, RFC 4217, RFC 2428, RFC 3659) are
// reviewed in one place.
var (
	rDataOpening     = reply{150, "Opening %s mode data connection for %s"}
	rOK              = reply{200, "%s"}
	rTypeOK          = reply{200, "Type set to %s"}
	rPBSZ            = reply{200, "PBSZ=0"}
	rPROT            = reply{200, "Protection level set to %s"}
	rCCC             = reply{200, "Clearing the control channel"}
	rSuperfluous     = reply{202, "%s is superfluous"}
	rSystemStatus    = reply{211, "%s"}
	rFileStatus      = reply{213, "%s"}
	rHelp            = reply{214, "%s"}
	rSystem          = reply{215, "UNIX Type: L8"}
	rReady           = reply{220, "ftpsd ready"}
	rGoodbye         = reply{221, "Goodbye"}
	rAborNoTransfer  = reply{225, "No transfer in progress"}
	rTransferDone    = reply{226, "Transfer complete"}
	rAborOK          = reply{226, "ABOR processed"}
	rPASV            = reply{227, "Entering Passive Mode (%s)"}
	rEPSV            = reply{229, "Entering Extended Passive Mode (|||%d|)"}
	rLoggedIn        = reply{230, "User %s logged in"}
	rLoggedInCert    = reply{232, "User %s logged in, authorized by security data exchange"}
	rAuthOK          = reply{234, "AUTH TLS successful; starting the TLS handshake"}
	rFileOK          = reply{250, "%s"}
	rPathCreated     = reply{257, "%s"}
	rNeedPassword    = reply{331, "Password required for %s"}
	rRNFROK          = reply{350, "Ready for RNTO"}
	rRESTOK          = reply{350, "Restarting at %d; send RETR or STOR"}
	rShutdown        = reply{421, "Service not available, closing control connection"}
	rTimeout         = reply{421, "Timeout (%s): closing control connection"}
	rTooManyLines    = reply{421, "Too many over-long command lines: closing control connection"}
	rLineEndless     = reply{421, "Command line too long and without an end: closing control connection"}
	rTooManyUnknown  = reply{421, "Too many unknown commands in a row: closing control connection"}
	rTooManyFailures = reply{421, "Too many login failures: closing control connection"}
	rTooMany         = reply{421, "Too many sessions, try again later"}
	rTooManyFromIP   = reply{421, "Too many sessions from your address, try again later"}
	rBanned          = reply{421, "Too many login failures from your address: banned until %s"}
	rInternal        = reply{421, "Internal error: closing control connection"}
	rCantOpenData    = reply{425, "Can't open data connection: %s"}
	rTransferAborted = reply{426, "Connection closed; transfer aborted"}
	rLocalError      = reply{451, "Local error: %s"}
	rNoSpace         = reply{452, "Insufficient storage space"}
	rUnknown         = reply{500, "Unknown command"}
	rLineTooLong     = reply{500, "Command line too long"}
	rSyntax          = reply{501, "Syntax error in parameters: %s"}
	rNotImplemented  = reply{502, "%s not implemented"}
	rActiveDisabled  = reply{502, "Active mode (PORT/EPRT) is disabled by policy; use EPSV or PASV"}
	rBadSequence     = reply{503, "Bad sequence of commands: %s"}
	rParamNotImpl    = reply{504, "%s"}
	rNotLoggedIn     = reply{530, "Please log in with USER and PASS"}
	rLoginFailed     = reply{530, "Login incorrect"}
	rAnonDisabled    = reply{530, "Anonymous login is not allowed on this server"}
	rAnonNeedsTLS    = reply{530, "Anonymous login is allowed only over TLS: send AUTH TLS first"}
	rAnonNeedsClear  = reply{530, "Anonymous login is allowed only without TLS, and this connection is protected"}
	rAnonPassword    = reply{331, "Anonymous login ok, send your e-mail address as password"}
	rLoggedInAnon    = reply{230, "Anonymous user logged in, read-only access"}
	rTLSRequired     = reply{530, "Policy requires TLS: send AUTH TLS first"}
	rProtPolicy      = reply{521, "Data connection protection level %s refused by policy; send PBSZ 0 and PROT %s"}
	rEPRTProto       = reply{522, "Network protocol not supported, use (1,2)"}
	rDataTLSFailed   = reply{522, "Data connection TLS negotiation failed or did not resume the control connection's TLS session"}
	rCCCNotProtected = reply{533, "Control connection is not protected"}
	rPolicyDenied    = reply{534, "Request denied for policy reasons: %s"}
	rProtUnsupported = reply{536, "Protection level %s not supported"}
	rFileUnavailable = reply{550, "%s"}
	rQuotaExceeded   = reply{552, "Exceeded storage allocation"}
	rRestInvalid     = reply{554, "Invalid REST parameter"}
	rBadFileName     = reply{553, "%s"}
)
