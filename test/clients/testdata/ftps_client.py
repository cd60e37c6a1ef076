"""An FTPS client on Python's ftplib for the end-to-end tests.

usage: ftps_client.py HOST PORT USER PASSWORD CAFILE LOCAL REMOTE

Verifies the server's chain against CAFILE and its name against HOST, logs
in, protects data connections with the control connection's TLS session
(RFC 4217 section 10.2), uploads LOCAL as REMOTE and downloads it again in
the same session. Prints one JSON object: the PASV reply, the certificate's
serial, and the SHA-256 of what was sent and received.
"""
import ftplib
import hashlib
import json
import ssl
import sys


class FTPS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control session and that
    connects to the address PASV names (each replica has its own)."""

    trust_server_pasv_ipv4_address = True
    last_pasv = ""

    def makepasv(self):
        self.last_pasv = self.sendcmd("PASV")
        return ftplib.parse227(self.last_pasv)

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def main():
    host, port, user, password, cafile, local, remote = sys.argv[1:8]
    ctx = ssl.create_default_context(cafile=cafile)  # chain and host name checked
    ftp = FTPS(context=ctx, timeout=30)
    ftp.connect(host, int(port))
    ftp.auth()
    serial = format(int(ftp.sock.getpeercert()["serialNumber"], 16), "x")
    ftp.login(user, password)
    ftp.prot_p()
    sent = hashlib.sha256()
    with open(local, "rb") as f:
        data = f.read()
        sent.update(data)
    with open(local, "rb") as f:
        ftp.storbinary("STOR " + remote, f)
    got = hashlib.sha256()
    ftp.retrbinary("RETR " + remote, got.update)
    ftp.quit()
    print(json.dumps({"pasv": ftp.last_pasv, "serial": serial, "sent": sent.hexdigest(), "received": got.hexdigest()}))


if __name__ == "__main__":
    main()
