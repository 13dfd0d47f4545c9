#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# OpenSSH (Debian 12) with the module, keys released from the emulator:
#   - ssh-keygen -D lists the token's RSA and ECDSA public keys, equal to the keys read from it;
#   - ssh-agent (-P allowing this build's module) loads the token with ssh-add -s, ssh-add -l
#     lists the keys;
#   - a private sshd on 127.0.0.1 (own host key, config and authorized_keys in $WORK) accepts a
#     login as root signed by demo-rsa and by demo-ec, once with ssh -o PKCS11Provider and once
#     through the agent; authorized_keys holds one key at a time and sshd's log must name that
#     key's fingerprint in "Accepted publickey".
# sshd and ssh-agent are stopped by pid. /run/sshd (sshd's privilege separation directory) is
# created if absent and left in place.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "sshd with its own config must run as root here"
for p in ssh ssh-keygen ssh-agent ssh-add; do
    command -v "$p" >/dev/null || skip "$p missing (openssh-client)"
done
[ -x /usr/sbin/sshd ] || skip "/usr/sbin/sshd missing (openssh-server)"
skr_setup
module=$(readlink -f "$SKR_MODULE")

# The token's public keys in OpenSSH form, from the PEM keys read with pkcs11-tool.
for k in rsa ec; do
    ssh-keygen -i -m PKCS8 -f "$WORK/demo-$k.pub.pem" >"$WORK/demo-$k.ssh.pub" ||
        fail "ssh-keygen -i demo-$k"
    ssh-keygen -l -E sha256 -f "$WORK/demo-$k.ssh.pub" | cut -d' ' -f2 >"$WORK/demo-$k.fp"
done

# 1. ssh-keygen -D: the RSA key labelled demo-rsa and the ECDSA key labelled demo-ec.
p11 ssh-keygen -D "$module" >"$WORK/keygen-D.txt" 2>"$WORK/err" ||
    fail "ssh-keygen -D: $(cat "$WORK/err")"
for k in rsa ec; do
    want=$(cut -d' ' -f1,2 "$WORK/demo-$k.ssh.pub")
    got=$(awk -v l="demo-$k" '$3 == l { print $1 " " $2 }' "$WORK/keygen-D.txt")
    [ -n "$got" ] || fail "ssh-keygen -D does not list demo-$k: $(cat "$WORK/keygen-D.txt")"
    [ "$got" = "$want" ] || fail "ssh-keygen -D gives demo-$k as '$got', the token has '$want'"
done
types="$(cut -d' ' -f1 "$WORK/demo-rsa.ssh.pub") $(cut -d' ' -f1 "$WORK/demo-ec.ssh.pub")"
case $types in
"ssh-rsa ecdsa-sha2-nistp256") ;;
*) fail "demo-rsa/demo-ec are not ssh-rsa/ecdsa-sha2-nistp256 keys" ;;
esac
ok "ssh-keygen -D lists demo-rsa (ssh-rsa) and demo-ec (ecdsa-sha2-nistp256) as the token has them"

# 2. ssh-agent with the module loaded by ssh-add -s. ssh-agent is setgid on Debian, so the
# loader drops LD_PRELOAD before ssh-pkcs11-helper (which loads the module) inherits the
# environment: in ASan builds the helper is started through a wrapper that sets it again.
if [ -n "${SKR_PRELOAD:-}" ]; then
    cat >"$WORK/pkcs11-helper" <<EOF
#!/bin/sh
LD_PRELOAD="$SKR_PRELOAD" exec /usr/lib/openssh/ssh-pkcs11-helper "\$@"
EOF
    chmod 755 "$WORK/pkcs11-helper"
    export SSH_PKCS11_HELPER="$WORK/pkcs11-helper"
fi
# The token has no PIN (CKF_LOGIN_REQUIRED clear): ssh-add still asks, answer with nothing.
printf '#!/bin/sh\necho ""\n' >"$WORK/askpass"
chmod 755 "$WORK/askpass"
agent_sock="$WORK/agent.sock"
ssh-agent -D -a "$agent_sock" -P "$module" >"$WORK/agent.log" 2>&1 </dev/null &
agent_pid=$!
bg_pid $agent_pid
while [ ! -S "$agent_sock" ]; do
    kill -0 $agent_pid 2>/dev/null || fail "ssh-agent exited: $(cat "$WORK/agent.log")"
    sleep 0.1
done
SSH_AUTH_SOCK="$agent_sock" SSH_ASKPASS="$WORK/askpass" SSH_ASKPASS_REQUIRE=force \
    ssh-add -s "$module" </dev/null >"$WORK/add.log" 2>&1 ||
    fail "ssh-add -s: $(cat "$WORK/add.log") agent: $(cat "$WORK/agent.log")"
SSH_AUTH_SOCK="$agent_sock" ssh-add -l >"$WORK/agent-keys.txt" 2>&1 ||
    fail "ssh-add -l: $(cat "$WORK/agent-keys.txt")"
for k in rsa ec; do
    fp=$(cat "$WORK/demo-$k.fp")
    grep -q " $fp demo-$k " "$WORK/agent-keys.txt" ||
        fail "ssh-add -l does not list demo-$k ($fp): $(cat "$WORK/agent-keys.txt")"
done
ok "ssh-add -s loads the token into ssh-agent; ssh-add -l lists demo-rsa and demo-ec"

# 3. sshd on a free loopback port, run in the foreground with its own files.
[ -d /run/sshd ] || mkdir -m 755 /run/sshd
ssh-keygen -q -t ed25519 -N '' -C skr-test-host -f "$WORK/host_key" || fail "host key"
port=$(free_port)
cat >"$WORK/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $WORK/host_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
LogLevel INFO
EOF
: >"$WORK/authorized_keys"
/usr/sbin/sshd -t -f "$WORK/sshd_config" 2>"$WORK/err" || fail "sshd -t: $(cat "$WORK/err")"
: >"$WORK/sshd.log"
/usr/sbin/sshd -D -e -f "$WORK/sshd_config" >>"$WORK/sshd.log" 2>&1 </dev/null &
sshd_pid=$!
bg_pid $sshd_pid
until grep -q "Server listening on 127.0.0.1 port $port" "$WORK/sshd.log"; do
    kill -0 $sshd_pid 2>/dev/null || fail "sshd exited: $(cat "$WORK/sshd.log")"
    sleep 0.1
done

# How many logins sshd accepted with the key of fingerprint $1 (its log lines end in \r\n).
accepted() {
    grep 'Accepted publickey for root from 127\.0\.0\.1 ' "$WORK/sshd.log" |
        grep -cF " $1" || true
}
# $1 key (rsa|ec), $2 how (pkcs11|agent): log in with only that key authorized.
login() {
    cp "$WORK/demo-$1.ssh.pub" "$WORK/authorized_keys"
    fp=$(cat "$WORK/demo-$1.fp")
    before=$(accepted "$fp")
    if [ "$2" = pkcs11 ]; then
        # The key comes from the module, no agent. With IdentitiesOnly, ssh uses a PKCS#11
        # key only if an IdentityFile names its public half.
        out=$(env -u SSH_AUTH_SOCK LD_PRELOAD="${SKR_PRELOAD:-}" \
            ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes \
            -o PKCS11Provider="$module" -o IdentityFile="$WORK/demo-$1.ssh.pub" \
            -o UserKnownHostsFile="$WORK/known_hosts" \
            -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=accept-new \
            -p "$port" root@127.0.0.1 echo ok-from-sshd 2>"$WORK/ssh.err") ||
            fail "ssh -o PKCS11Provider demo-$1: $(cat "$WORK/ssh.err") $(tail -3 "$WORK/sshd.log")"
    else
        # IdentityFile is the public half only: the agent (its pkcs11 helper) must sign.
        out=$(SSH_AUTH_SOCK="$agent_sock" ssh -F /dev/null -o BatchMode=yes \
            -o IdentitiesOnly=yes -o IdentityFile="$WORK/demo-$1.ssh.pub" \
            -o UserKnownHostsFile="$WORK/known_hosts" -o GlobalKnownHostsFile=/dev/null \
            -o StrictHostKeyChecking=accept-new \
            -p "$port" root@127.0.0.1 echo ok-from-sshd 2>"$WORK/ssh.err") ||
            fail "ssh via ssh-agent, demo-$1: $(cat "$WORK/ssh.err") $(tail -3 "$WORK/sshd.log")"
    fi
    [ "$out" = ok-from-sshd ] || fail "remote command printed '$out'"
    after=$(accepted "$fp")
    [ "$after" -gt "$before" ] ||
        fail "sshd did not log 'Accepted publickey' for demo-$1 ($fp): $(tail -5 "$WORK/sshd.log")"
    ok "sshd accepts root@127.0.0.1 signed by demo-$1 via $2 ($fp)"
}
for k in rsa ec; do
    login $k pkcs11
    login $k agent
done

# Neither token key authorized: the same login must be refused.
ssh-keygen -q -t ed25519 -N '' -f "$WORK/other" || fail "other key"
cp "$WORK/other.pub" "$WORK/authorized_keys"
if env -u SSH_AUTH_SOCK LD_PRELOAD="${SKR_PRELOAD:-}" ssh -F /dev/null -o BatchMode=yes \
    -o IdentitiesOnly=no -o PKCS11Provider="$module" -o UserKnownHostsFile="$WORK/known_hosts" \
    -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=accept-new \
    -p "$port" root@127.0.0.1 echo ok-from-sshd >/dev/null 2>"$WORK/ssh.err"; then
    fail "sshd accepted a token key that is not in authorized_keys"
fi
grep -q 'Permission denied (publickey' "$WORK/ssh.err" ||
    fail "ssh failed for another reason than a refused key: $(cat "$WORK/ssh.err")"
ok "sshd refuses the token keys when they are not authorized"

_stop_pid $sshd_pid
_stop_pid $agent_pid
echo "openssh: all checks passed (key path: emulator)"
