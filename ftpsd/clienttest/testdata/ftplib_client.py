"""FTPS client for ftpsd's tests, on Python's ftplib.

usage: ftplib_client.py HOST PORT USER PASSWORD CAFILE MODE TLSMAX LOCAL_UPLOAD LOCAL_DOWNLOAD

MODE is "reuse" (the data connections resume the control connection's TLS
session, as RFC 4217 section 10.2 asks) or "plain" (stock FTP_TLS, which does
not). Uploads LOCAL_UPLOAD as up.bin, lists, downloads it to LOCAL_DOWNLOAD.
Prints the server's replies; exits non-zero on an error reply.
"""
import ftplib
import ssl
import sys


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


def main():
    host, port, user, password, cafile, mode, tlsmax, up, down = sys.argv[1:10]
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False  # the test certificate names 127.0.0.1 as an IP SAN
    if tlsmax == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    cls = ReusingFTP_TLS if mode == "reuse" else ftplib.FTP_TLS
    ftp = cls(context=ctx, timeout=20)
    ftp.connect(host, int(port))
    ftp.auth()
    ftp.login(user, password)
    ftp.prot_p()
    print("control", ftp.sock.version())
    with open(up, "rb") as f:
        try:
            print(ftp.storbinary("STOR up.bin", f))
        except ssl.SSLError as e:
            # The server refused the data connection's TLS handshake; its
            # reply on the control connection says why.
            print("data TLS refused:", e)
            try:
                print(ftp.getresp())
            except ftplib.error_perm as e2:
                print("reply:", e2)
            sys.exit(3)
    print("listing", ftp.nlst())
    with open(down, "wb") as f:
        print(ftp.retrbinary("RETR up.bin", f.write))
    print(ftp.quit())


if __name__ == "__main__":
    try:
        main()
    except ftplib.all_errors as e:
        print("ftp error:", e)
        sys.exit(3)
