package ftptest

import "encoding/json"

// ListenAddresses collects the addresses ftpsd logs when it starts (JSON
// log lines "listening" and "operations endpoint listening"), so that tests
// can run it on port 0 and learn where it listens.
type ListenAddresses struct {
	Control, Ops string
}

// Scan reads one log line and reports whether both addresses are known.
func (a *ListenAddresses) Scan(line []byte) bool {
	var m struct {
		Msg     string `json:"msg"`
		Address string `json:"address"`
	}
	if json.Unmarshal(line, &m) == nil {
		switch m.Msg {
		case "listening":
			a.Control = m.Address
		case "operations endpoint listening":
			a.Ops = m.Address
		}
	}
	return a.Control != "" && a.Ops != ""
}
