# SPDX-License-Identifier: Apache-2.0
"""A simulated Azure confidential VM: swtpm provisioned like the vTPM of an SEV-SNP or a TDX CVM
(spec §a', §h, §i).

    cvm = start(state_dir)                       # swtpm + the paravisor proxy on free loopback ports
    provision(cvm, amd_chain, ak_ca_key, ak_ca_cert, {"debug": True, "measurement": "..."})
    cvm.tcti                                     # "swtpm:host=127.0.0.1,port=P" for clients
    cvm.stop()

What the vTPM holds after provision(): SRK 0x81000001, AK 0x81000003 (restricted RSA-2048
RSASSA-SHA256 signing key), the AK certificate (DER) in NV 0x01C101D0, and the HCL report in NV
0x01400001: an SNP report signed by the test VCEK whose report_data is SHA-256 of the runtime
JSON {"keys":[HCLAkPub],"vm-configuration":{...},"user-data":"<hex>"}. With tee="tdx" the
hardware report is a 1024-byte TD report (HclData.ReportType 4) whose REPORTDATA binds the runtime
JSON the same way (IMDS /acc/tdquote turns it into a quote, tdx.py).

The paravisor: clients talk to a small TCP proxy (data port P, control port P+1) that forwards
every TPM command to swtpm unchanged. When a TPM2_NV_Write to NV 0x01400002 succeeds, the proxy
rebuilds 0x01400001 (user-data = uppercase hex of 0x01400002, a freshly signed report) before the
client sees the NV_Write response - so the new report is there as soon as the write returns, the
way a guest observes it on Azure after the paravisor's refresh. swtpm itself cannot do this.
"""
import base64
import datetime
import hashlib
import io
import json
import os
import pickle
import selectors
import socket
import struct
import subprocess
import sys
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from . import hcl, snp, tdx

SRK_HANDLE = 0x81000001
AK_HANDLE = 0x81000003
NV_HCL_REPORT = 0x01400001
NV_USER_DATA = 0x01400002
NV_AK_CERT = 0x01C101D0
NV_MAX_SIZE = 2048          # libtpms MAX_NV_INDEX_SIZE: the largest NV index swtpm allows
NV_CHUNK = 1024             # MAX_NV_BUFFER_SIZE

TPM_CC_NV_WRITE = 0x00000137

# AK: fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted | sign
AK_ATTRS = 0x00000002 | 0x00000010 | 0x00000020 | 0x00000040 | 0x00010000 | 0x00040000
# SRK: fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | noDA | restricted | decrypt
SRK_ATTRS = 0x00000002 | 0x00000010 | 0x00000020 | 0x00000040 | 0x00000400 | 0x00010000 | 0x00020000


class CvmError(RuntimeError):
    pass


def _free_port_pair():
    """A port P with P and P+1 free on 127.0.0.1 (found by binding port 0)."""
    for _ in range(200):
        s1 = socket.socket()
        s1.bind(("127.0.0.1", 0))
        port = s1.getsockname()[1]
        s2 = socket.socket()
        try:
            s2.bind(("127.0.0.1", port + 1))
        except OSError:
            continue
        finally:
            s1.close()
            s2.close()
        return port
    raise CvmError("no free loopback port pair")


def _bind_pair(port=0):
    """Listening sockets on P and P+1 (P = `port`, or a free pair when 0)."""
    for _ in range(200):
        base = port or _free_port_pair()
        socks = []
        try:
            for p in (base, base + 1):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                s.listen(16)
                socks.append(s)
            return base, socks
        except OSError:
            for s in socks:
                s.close()
            if port:
                raise
    raise CvmError("no free loopback port pair")


def _recv_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _recv_tpm(sock):
    """One TPM command/response (10-byte header, size at offset 2), or None at EOF."""
    head = _recv_exact(sock, 10)
    if head is None:
        return None
    size = struct.unpack(">I", head[2:6])[0]
    if size < 10 or size > 65536:
        return None
    rest = _recv_exact(sock, size - 10)
    return None if rest is None else head + rest


class _Relay:
    """The paravisor stand-in (runs in its own process, relay_main()): TCP relay in front of
    swtpm with the user-data hook. One persistent connection to swtpm's server port carries
    every client's commands, one command then its response, serialized by a lock (swtpm serves
    one connection at a time and executes one command at a time anyway). Client data
    connections are served by one thread (_data_loop); the control port is forwarded per
    connection."""

    IDLE_CLOSE = 0.2            # seconds: let direct_tcti clients reach swtpm when idle

    def __init__(self, swtpm_port, port=0):
        self.swtpm_port = swtpm_port
        self.port, self._socks = _bind_pair(port)
        self.config = None      # set by the parent after provision()
        self.hook = False
        self._stop = False
        self._up = None
        self._up_lock = threading.Lock()
        self._last_use = time.monotonic()

    def serve(self):
        threading.Thread(target=self._data_loop, args=(self._socks[0],), daemon=True).start()
        threading.Thread(target=self._accept, args=(self._socks[1], self._serve_ctrl),
                         daemon=True).start()
        threading.Thread(target=self._idle_closer, daemon=True).start()

    DATA_TIMEOUT = 5.0          # seconds a client may take to send the rest of a command

    def _data_loop(self, lsock):
        """Every data connection on one thread. tcti-swtpm opens a connection per command, and
        commands run one at a time anyway: a thread started per connection only added a Python
        thread start and its wake-ups to every TPM command (start-up bench, 64 keys)."""
        sel = selectors.DefaultSelector()
        sel.register(lsock, selectors.EVENT_READ)
        while not self._stop:
            for key, _ in sel.select(timeout=0.5):
                sock = key.fileobj
                if sock is lsock:
                    try:
                        conn, _ = lsock.accept()
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        conn.settimeout(self.DATA_TIMEOUT)
                    except OSError:
                        continue
                    sel.register(conn, selectors.EVENT_READ)
                elif not self._serve_command(sock):
                    sel.unregister(sock)
                    sock.close()

    def _accept(self, lsock, handler):
        while not self._stop:
            try:
                conn, _ = lsock.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(conn,), daemon=True).start()

    def _close_up(self):
        if self._up is not None:
            try:
                self._up.close()
            except OSError:
                pass
            self._up = None

    def _idle_closer(self):
        while not self._stop:
            time.sleep(self.IDLE_CLOSE / 2)
            if self._up is None or time.monotonic() - self._last_use < self.IDLE_CLOSE:
                continue
            if self._up_lock.acquire(blocking=False):
                try:
                    if time.monotonic() - self._last_use >= self.IDLE_CLOSE:
                        self._close_up()
                finally:
                    self._up_lock.release()

    def _transact(self, cmd):
        """Send one command on the persistent swtpm connection and return its response (None
        when swtpm is unreachable). Caller holds _up_lock. A reused connection that swtpm has
        closed (EOF before any response byte) is reopened and the command sent once more."""
        for attempt in (0, 1):
            fresh = self._up is None
            try:
                if fresh:
                    self._up = socket.create_connection(("127.0.0.1", self.swtpm_port))
                    self._up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._up.sendall(cmd)
                rsp = _recv_tpm(self._up)
            except OSError:
                rsp = None
            if rsp is not None:
                return rsp
            self._close_up()
            if fresh or attempt:
                return None
        return None

    def _serve_command(self, conn):
        """One command from a readable client connection, answered; False when the connection
        is done (EOF, error, swtpm unreachable)."""
        try:
            cmd = _recv_tpm(conn)
            if cmd is None:
                return False
            with self._up_lock:
                rsp = self._transact(cmd)
                if rsp is None:
                    return False
                if self.hook and _is_user_data_write(cmd) and rsp[6:10] == b"\0\0\0\0":
                    self._close_up()        # the hook talks to swtpm on its own connection
                    self.regenerate()
                self._last_use = time.monotonic()
            conn.sendall(rsp)
            return True
        except OSError:
            return False

    def regenerate(self, user_data=None):
        """Rebuild NV 0x01400001 (user_data None: read NV 0x01400002). Caller holds _up_lock
        with the persistent connection closed."""
        from tpm2_pytss import ESAPI
        with ESAPI("swtpm:host=127.0.0.1,port=%d" % self.swtpm_port) as ectx:
            if user_data is None:
                user_data = _read_user_data(ectx)
            if user_data is not None:
                self.config["user_data"] = bytes(user_data)
            return _write_hcl(ectx, self.config)

    def control(self, msg):
        """A request from the parent process (see Cvm._call)."""
        op = msg[0]
        if op == "config":
            self.config = msg[1]
            return None
        if op == "hook":
            self.hook = bool(msg[1]) and self.config is not None
            return None
        if op == "regenerate":
            _, snp_fields, td_fields, user_data = msg
            if self.config is None:
                raise CvmError("not provisioned")
            with self._up_lock:
                self._close_up()
                self.config["snp_fields"] = snp_fields
                self.config["td_fields"] = td_fields
                report = self.regenerate(user_data)
                self._last_use = time.monotonic()
            return report, self.config["user_data"]
        raise CvmError("unknown relay request %r" % (op,))

    def _serve_ctrl(self, conn):
        try:
            up = socket.create_connection(("127.0.0.1", self.swtpm_port + 1))
        except OSError:
            conn.close()
            return

        def pump(src, dst):
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                for s in (src, dst):
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
        t = threading.Thread(target=pump, args=(up, conn), daemon=True)
        t.start()
        pump(conn, up)
        t.join()
        conn.close()
        up.close()


# ---- parent <-> relay process: length-prefixed pickles on an inherited socketpair ----------
# Private keys and certificates travel as PEM/DER (cryptography objects do not pickle).

class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):  # pylint: disable=too-many-return-statements
        if isinstance(obj, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            return (_load_private, (obj.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()),))
        if isinstance(obj, (rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
            return (serialization.load_pem_public_key, (obj.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),))
        if isinstance(obj, x509.Certificate):
            return (x509.load_der_x509_certificate,
                    (obj.public_bytes(serialization.Encoding.DER),))
        return NotImplemented


def _load_private(pem):
    return serialization.load_pem_private_key(pem, None)


def _send_msg(sock, obj):
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    data = buf.getvalue()
    sock.sendall(struct.pack(">I", len(data)) + data)


def _recv_msg(sock):
    head = _recv_exact(sock, 4)
    if head is None:
        return None
    data = _recv_exact(sock, struct.unpack(">I", head)[0])
    if data is None:
        return None
    return pickle.loads(data)


def relay_main(argv=None):
    """Entry point of the relay process (skremu/relay.py): --swtpm-port S --port P --ctl-fd N
    --state DIR. Reports {"port": P} on the control socket, then serves until the control
    socket closes (the parent stopped or died) or SIGTERM."""
    import argparse
    ap = argparse.ArgumentParser(prog="skremu-relay")
    ap.add_argument("--swtpm-port", type=int, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--ctl-fd", type=int, required=True)
    ap.add_argument("--state", required=True)    # for humans and `skr-emulator down`
    args = ap.parse_args(argv)
    ctl = socket.socket(fileno=args.ctl_fd)
    try:
        relay = _Relay(args.swtpm_port, args.port)
    except (OSError, CvmError) as exc:
        _send_msg(ctl, ("error", "relay cannot listen: %s" % exc))
        return 1
    _tpm()          # import tpm2-pytss now, not during the first user-data write
    relay.serve()
    _send_msg(ctl, ("port", relay.port))
    while True:
        try:
            msg = _recv_msg(ctl)
        except OSError:
            msg = None
        if msg is None:
            return 0
        try:
            reply = ("ok", relay.control(msg))
        except Exception as exc:  # pylint: disable=broad-except  # reported to the parent
            reply = ("error", "%s: %s" % (type(exc).__name__, exc))
        try:
            _send_msg(ctl, reply)
        except OSError:
            return 0


def _is_user_data_write(cmd):
    if len(cmd) < 18:
        return False
    cc, _auth, index = struct.unpack(">III", cmd[6:18])
    return cc == TPM_CC_NV_WRITE and index == NV_USER_DATA


class Cvm:
    """A running simulated CVM. tcti: what clients use (through the paravisor relay);
    direct_tcti: swtpm itself (no user-data hook; while the relay holds its swtpm connection, a
    direct client waits until the relay has been idle for _Relay.IDLE_CLOSE). pid: the swtpm
    process; relay_pid: the relay process; pids: both."""

    def __init__(self, state_dir, proc, swtpm_port, relay_proc, ctl, relay_port):
        self.state_dir = state_dir
        self._proc = proc
        self.pid = proc.pid
        self.swtpm_port = swtpm_port
        self._relay = relay_proc
        self.relay_pid = relay_proc.pid
        self.pids = [self.pid, self.relay_pid]
        self._ctl = ctl
        self._ctl_lock = threading.Lock()
        self.port = relay_port
        self.tcti = "swtpm:host=127.0.0.1,port=%d" % relay_port
        self.direct_tcti = "swtpm:host=127.0.0.1,port=%d" % swtpm_port
        self.config = None          # set by provision(): what regenerate() needs

    def esapi(self, direct=True):
        from tpm2_pytss import ESAPI
        return ESAPI(self.direct_tcti if direct else self.tcti)

    def _call(self, *msg):
        with self._ctl_lock:
            if self._ctl is None:
                raise CvmError("the paravisor relay is stopped")
            try:
                _send_msg(self._ctl, msg)
                reply = _recv_msg(self._ctl)
            except OSError as exc:
                raise CvmError("paravisor relay unreachable: %s" % exc) from None
        if reply is None:
            raise CvmError("the paravisor relay exited (see %s/relay.log)" % self.state_dir)
        if reply[0] != "ok":
            raise CvmError("paravisor relay: %s" % reply[1])
        return reply[1]

    def stop(self):
        if self._ctl is not None:
            self._ctl.close()       # the relay exits at EOF on its control socket
            self._ctl = None
        for proc in (self._relay, self._proc):
            _terminate(proc)

    def regenerate(self, user_data=None):
        """Rebuild NV 0x01400001 now (user_data: 64 bytes; None = read NV 0x01400002), with the
        current config's snp_fields / td_fields. Done by the relay process, which owns the swtpm
        connection and keeps its copy of the config (the user-data hook uses it)."""
        if self.config is None:
            raise CvmError("not provisioned")
        report, udata = self._call("regenerate", self.config["snp_fields"],
                                   self.config["td_fields"],
                                   None if user_data is None else bytes(user_data))
        self.config["user_data"] = udata
        self.config["hcl_report"] = report
        return report


def _terminate(proc, timeout=10):
    if proc.poll() is None:
        try:
            proc.terminate()
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start(state_dir, port=0, swtpm="swtpm", timeout=60):
    """Start swtpm (state in `state_dir`) and the paravisor relay process (on `port`/`port`+1,
    or free ports when 0). The swtpm pid is in cvm.pid and in state_dir/swtpm.pid, the relay's
    in cvm.relay_pid and state_dir/relay.pid. Either failing to come up within `timeout`
    seconds raises CvmError with both processes stopped."""
    state_dir = os.path.abspath(state_dir)
    os.makedirs(state_dir, mode=0o700, exist_ok=True)
    sport = _free_port_pair()
    log = open(os.path.join(state_dir, "swtpm.log"), "ab")
    try:
        proc = subprocess.Popen(
            [swtpm, "socket", "--tpm2",
             "--server", "type=tcp,port=%d,bindaddr=127.0.0.1" % sport,
             "--ctrl", "type=tcp,port=%d,bindaddr=127.0.0.1" % (sport + 1),
             "--tpmstate", "dir=%s" % state_dir,
             "--flags", "not-need-init,startup-clear"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True)
    except OSError as exc:
        raise CvmError("cannot start %s: %s" % (swtpm, exc)) from None
    finally:
        log.close()
    with open(os.path.join(state_dir, "swtpm.pid"), "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise CvmError("swtpm exited with %d (see %s/swtpm.log)"
                               % (proc.returncode, state_dir))
            try:
                socket.create_connection(("127.0.0.1", sport + 1), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise CvmError("swtpm did not open its ports within %d s"
                                   % timeout) from None
                time.sleep(0.02)
        relay, ctl, rport = _start_relay(state_dir, sport, port, deadline)
    except BaseException:       # a signal during start-up included: no swtpm left behind
        _terminate(proc)
        raise
    return Cvm(state_dir, proc, sport, relay, ctl, rport)


def _start_relay(state_dir, swtpm_port, port, deadline):
    parent, child = socket.socketpair()
    log = open(os.path.join(state_dir, "relay.log"), "ab")
    try:
        relay = subprocess.Popen(
            [sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "relay.py"),
             "--swtpm-port", str(swtpm_port), "--port", str(port),
             "--ctl-fd", str(child.fileno()), "--state", state_dir],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(child.fileno(),))
    except BaseException:
        parent.close()
        raise
    finally:
        child.close()
        log.close()
    with open(os.path.join(state_dir, "relay.pid"), "w") as f:
        f.write("%d\n" % relay.pid)
    try:
        parent.settimeout(max(1.0, deadline - time.monotonic()))
        try:
            reply = _recv_msg(parent)
        except OSError as exc:      # socket.timeout included
            raise CvmError("the paravisor relay did not start: %s (see %s/relay.log)"
                           % (exc or "timed out", state_dir)) from None
        if reply is None:
            raise CvmError("the paravisor relay exited (see %s/relay.log)" % state_dir)
        if reply[0] != "port":
            raise CvmError("paravisor relay: %s" % reply[1])
        parent.settimeout(None)
    except BaseException:
        parent.close()
        _terminate(relay)
        raise
    return relay, parent, reply[1]


# ---------------------------------------------------------------------------------------------
# TPM helpers (tpm2-pytss ESAPI over the swtpm TCTI; transient objects always flushed)

def _tpm():
    import tpm2_pytss as t
    return t


def handle_exists(ectx, handle):
    """Whether a persistent object / NV index exists (GetCapability, no error logged)."""
    t = _tpm()
    _, data = ectx.get_capability(t.TPM2_CAP.HANDLES, handle, 1)
    handles = data.data.handles
    return handles.count >= 1 and handles.handle[0] == handle


def _evict_if_present(ectx, handle):
    t = _tpm()
    if handle_exists(ectx, handle):
        ectx.evict_control(t.ESYS_TR.OWNER, ectx.tr_from_tpmpublic(handle), handle)


def _undefine_if_present(ectx, index):
    t = _tpm()
    if handle_exists(ectx, index):
        ectx.nv_undefine_space(ectx.tr_from_tpmpublic(index), t.ESYS_TR.OWNER)


def _persist_primary(ectx, template, handle, hierarchy=None):
    t = _tpm()
    _evict_if_present(ectx, handle)
    obj, pub, _, _, _ = ectx.create_primary(None, template,
                                            hierarchy if hierarchy is not None else t.ESYS_TR.OWNER)
    try:
        ectx.evict_control(t.ESYS_TR.OWNER, obj, handle)
    finally:
        ectx.flush_context(obj)
    return pub


def _rsa_template(attrs, scheme_rsassa=False, restricted_decrypt=False):
    t = _tpm()
    pub = t.TPM2B_PUBLIC()
    pt = pub.publicArea
    pt.type = t.TPM2_ALG.RSA
    pt.nameAlg = t.TPM2_ALG.SHA256
    pt.objectAttributes = attrs
    det = pt.parameters.rsaDetail
    if restricted_decrypt:
        det.symmetric.algorithm = t.TPM2_ALG.AES
        det.symmetric.keyBits.aes = 128
        det.symmetric.mode.aes = t.TPM2_ALG.CFB
    else:
        det.symmetric.algorithm = t.TPM2_ALG.NULL
    if scheme_rsassa:
        det.scheme.scheme = t.TPM2_ALG.RSASSA
        det.scheme.details.rsassa.hashAlg = t.TPM2_ALG.SHA256
    else:
        det.scheme.scheme = t.TPM2_ALG.NULL
    det.keyBits = 2048
    det.exponent = 0
    return pub


def rsa_public_from_tpm(pub):
    """cryptography RSAPublicKey of a TPM2B_PUBLIC/TPMT_PUBLIC RSA key."""
    area = getattr(pub, "publicArea", pub)
    n = int.from_bytes(bytes(area.unique.rsa), "big")
    e = area.parameters.rsaDetail.exponent or 65537
    return rsa.RSAPublicNumbers(e, n).public_key()


def _nv_define(ectx, index, size, attrs):
    t = _tpm()
    _undefine_if_present(ectx, index)
    info = t.TPM2B_NV_PUBLIC(nvPublic=t.TPMS_NV_PUBLIC(
        nvIndex=index, nameAlg=t.TPM2_ALG.SHA256, attributes=attrs, dataSize=size))
    return ectx.nv_define_space(None, info, t.ESYS_TR.OWNER)


def _nv_write_all(ectx, index_tr, data, auth=None):
    t = _tpm()
    auth = t.ESYS_TR.OWNER if auth is None else auth
    for off in range(0, len(data), NV_CHUNK):
        ectx.nv_write(index_tr, data[off:off + NV_CHUNK], off, auth)


def nv_read_all(ectx, index, auth_owner=True):
    """Whole contents of an NV index, read in <= 1024-byte chunks (size from NV_ReadPublic)."""
    t = _tpm()
    tr = ectx.tr_from_tpmpublic(index)
    pub, _ = ectx.nv_read_public(tr)
    size = pub.nvPublic.dataSize
    auth = t.ESYS_TR.OWNER if auth_owner else tr
    out = bytearray()
    while len(out) < size:
        n = min(NV_CHUNK, size - len(out))
        out += bytes(ectx.nv_read(tr, n, len(out), auth))
    return bytes(out)


def _read_user_data(ectx):
    t = _tpm()
    if not handle_exists(ectx, NV_USER_DATA):
        return None
    for owner in (True, False):
        try:
            return nv_read_all(ectx, NV_USER_DATA, owner)
        except t.TSS2_Exception:
            continue
    return None


def _nv_attrs_owner():
    t = _tpm()
    return (t.TPMA_NV.OWNERWRITE | t.TPMA_NV.OWNERREAD | t.TPMA_NV.AUTHREAD | t.TPMA_NV.NO_DA)


# ---------------------------------------------------------------------------------------------
# HCL report assembly

def runtime_for(config):
    return hcl.runtime_json([config["ak_jwk"]], config["vm_configuration"], config["user_data"])


def build_hcl_report(config, pad=True):
    """The HCL report bytes for a provisioning config (SNP: a fresh VCEK signature every call;
    TDX: a TD report, ReportType 4)."""
    var_data = runtime_for(config)
    if config.get("tee") == "tdx":
        td = tdx.TdReport(**config["td_fields"])
        td.report_data = hcl.report_data_for(var_data)
        return hcl.build(td.to_bytes(), var_data, hcl.REPORT_TYPE_TDX, hcl.REQUEST_AK_CERT,
                         pad_to=NV_MAX_SIZE if pad else None)
    report = snp.SnpReport(**config["snp_fields"])
    report.set(report_data=hcl.report_data_for(var_data))
    hw = config["amd_chain"].sign_report(report)
    return hcl.build(hw, var_data, hcl.REPORT_TYPE_SNP, hcl.REQUEST_AK_CERT,
                     pad_to=NV_MAX_SIZE if pad else None)


def _write_hcl(ectx, config):
    data = build_hcl_report(config)
    tr = ectx.tr_from_tpmpublic(NV_HCL_REPORT)
    _nv_write_all(ectx, tr, data)
    config["hcl_report"] = data
    return data


def issue_ak_cert(ak_public, ak_ca_key, ak_ca_cert, vm_id):
    """DER AK certificate for the AK public key, issued by the emulator's AK CA."""
    now = datetime.datetime.utcnow().replace(microsecond=0)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, vm_id)]))
            .issuer_name(ak_ca_cert.subject)
            .public_key(ak_public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), True)
            .add_extension(x509.ExtendedKeyUsage([x509.ObjectIdentifier("2.23.133.8.3")]), False)
            .sign(ak_ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def _default_snp_fields(amd_chain):
    return {
        "version": 2,
        "guest_svn": 1,
        "policy": snp.POLICY_RESERVED17 | snp.POLICY_SMT,
        "family_id": bytes([1]) + b"\0" * 15,
        "image_id": bytes([2]) + b"\0" * 15,
        "measurement": hashlib.sha384(b"skr-emulator launch measurement").digest(),
        "id_key_digest": hashlib.sha384(b"skr-emulator id key").digest(),
        "report_id": hashlib.sha256(b"skr-emulator report id" + amd_chain.chip_id).digest(),
        "chip_id": amd_chain.chip_id,
        "reported_tcb": amd_chain.tcb,
        "current_tcb": amd_chain.tcb,
        "committed_tcb": amd_chain.tcb,
        "launch_tcb": amd_chain.tcb,
    }


def default_td_fields():
    """TD report fields of the simulated TDX CVM (hex strings, tdx.TdReport names): not
    debuggable (attributes 0), fixed MRTD/MRSEAM/RTMRs, a plausible XFAM and TEE_TCB_SVN."""
    h = lambda s: hashlib.sha384(s).hexdigest()  # noqa: E731
    return {
        "attributes": "0000000000000000",
        "xfam": "e702060000000000",
        "mrtd": h(b"skr-emulator mrtd"),
        "mrseam": h(b"skr-emulator mrseam"),
        "tee_tcb_svn": "03010200000000000000000000000000",
        "cpusvn": "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        "rtmr0": h(b"skr-emulator rtmr0"),
        "rtmr1": h(b"skr-emulator rtmr1"),
        "rtmr2": h(b"skr-emulator rtmr2"),
    }


def _measure_boot(ectx):
    """Simulated boot measurements in PCRs 0-7, once per swtpm start (PCR 0 still zero)."""
    t = _tpm()
    sel = t.TPML_PCR_SELECTION.parse("sha256:0")
    _, _, values = ectx.pcr_read(sel)
    if bytes(values.digests[0]) != b"\0" * 32:
        return
    for i in range(8):
        digests = t.TPML_DIGEST_VALUES([t.TPMT_HA(
            hashAlg=t.TPM2_ALG.SHA256,
            digest=t.TPMU_HA(sha256=hashlib.sha256(b"skr-emulator boot %d" % i).digest()))])
        ectx.pcr_extend(t.ESYS_TR.PCR0 + i, digests)


def provision(cvm, amd_chain, ak_ca_key, ak_ca_cert, snp_fields=None, vm_configuration=None,
              user_data_hook=True, tee="snp", td_fields=None):
    """Provision the vTPM like an Azure SEV-SNP CVM (tee="snp") or TDX CVM (tee="tdx").
    `snp_fields`: SnpReport fields overriding the defaults (e.g. {"debug": True},
    {"measurement": "<96 hex>"}, {"vmpl": 1}); `td_fields`: tdx.TdReport fields overriding
    default_td_fields() (e.g. {"attributes": "0100000000000000"} for a debuggable TD);
    `vm_configuration`: the runtime JSON's vm-configuration (default:
    hcl.VM_CONFIGURATION_DEFAULT with a random vmUniqueId). Returns cvm.config (ak_public,
    ak_cert_der, hcl_report, ...)."""
    t = _tpm()
    if tee not in ("snp", "tdx"):
        raise CvmError("unknown CVM type %r (snp or tdx)" % tee)
    tdf = default_td_fields()
    tdf.update(td_fields or {})
    fields = _default_snp_fields(amd_chain)
    fields.update(snp_fields or {})
    vmconf = dict(vm_configuration) if vm_configuration is not None else dict(
        hcl.VM_CONFIGURATION_DEFAULT, vmUniqueId=_uuid_upper())
    with cvm.esapi() as ectx:
        _measure_boot(ectx)
        _persist_primary(ectx, _rsa_template(SRK_ATTRS, restricted_decrypt=True), SRK_HANDLE)
        ak_pub = _persist_primary(ectx, _rsa_template(AK_ATTRS, scheme_rsassa=True), AK_HANDLE)
        ak_public = rsa_public_from_tpm(ak_pub)
        ak_cert = issue_ak_cert(ak_public, ak_ca_key, ak_ca_cert, vmconf["vmUniqueId"])
        tr = _nv_define(ectx, NV_AK_CERT, len(ak_cert), _nv_attrs_owner() | t.TPMA_NV.AUTHWRITE)
        _nv_write_all(ectx, tr, ak_cert)
        config = {
            "tee": tee,
            "amd_chain": amd_chain,
            "snp_fields": fields,
            "td_fields": tdf,
            "vm_configuration": vmconf,
            "user_data": b"\0" * 64,
            "ak_jwk": hcl.rsa_jwk("HCLAkPub", ["sign"], ak_public),
            "ak_public": ak_public,
            "ak_tpm2b_public": ak_pub.marshal(),
            "ak_cert_der": ak_cert,
        }
        _nv_define(ectx, NV_HCL_REPORT, NV_MAX_SIZE, _nv_attrs_owner())
        _undefine_if_present(ectx, NV_USER_DATA)
        cvm.config = config
        _write_hcl(ectx, config)
    _save_public_state(cvm)
    cvm._call("config", config)  # pylint: disable=protected-access
    if user_data_hook:
        regenerate_on_user_data(cvm)
    return config


def regenerate_on_user_data(cvm):
    """Install the paravisor hook: a successful NV_Write to 0x01400002 through cvm.tcti rebuilds
    0x01400001 with user-data = hex of 0x01400002 before the write's response is returned."""
    cvm._call("hook", True)  # pylint: disable=protected-access


def _uuid_upper():
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex().upper()
    return "%s-%s-%s-%s-%s" % (h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])


def _save_public_state(cvm):
    """Public facts for tests and humans: state_dir/cvm.json (no private keys)."""
    cfg = cvm.config
    doc = {
        "tee": cfg.get("tee", "snp"),
        "tcti": cvm.tcti,
        "swtpm_pid": cvm.pid,
        "ak_handle": "0x%08X" % AK_HANDLE,
        "ak_public_pem": cfg["ak_public"].public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        "ak_cert_der_b64": base64.b64encode(cfg["ak_cert_der"]).decode(),
        "vm_configuration": cfg["vm_configuration"],
        "hcl_report_b64": base64.b64encode(cfg["hcl_report"]).decode(),
    }
    with open(os.path.join(cvm.state_dir, "cvm.json"), "w") as f:
        json.dump(doc, f, indent=1)
