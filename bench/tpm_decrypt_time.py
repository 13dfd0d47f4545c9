#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The vTPM work every released key costs, as the start-up benchmark's lower bound: one
TPM2_PolicyPCR (the ephemeral key's policy, spec §i; a policy session is reset by each use) and
one TPM2_RSA_Decrypt of the key's C1 (RSA-2048 OAEP; Key Vault wraps a fresh AES key per
release), and a TPM executes one command at a time. Creates a transient primary decryption key
in the owner hierarchy, times N PolicyPCR (PCRs 0-7, SHA-256 bank) on one policy session and N
decrypts (password authorization: the TPM's RSA work is the same) from this client, flushes
both. Prints `tpm_decrypt_ms=<median> policy_pcr_ms=<median> per_key_ms=<sum> n=<N>`.
Not a test.
Usage: bench/tpm_decrypt_time.py TCTI [N]   (TCTI as in tpm2-tss, e.g. swtpm:host=127.0.0.1,port=P)
"""
import statistics
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from tpm2_pytss import (ESAPI, ESYS_TR, TPM2_ALG, TPM2_SE, TPM2B_DATA, TPM2B_DIGEST, TPM2B_PUBLIC,
                        TPM2B_PUBLIC_KEY_RSA, TPM2B_SENSITIVE_CREATE, TPMT_RSA_DECRYPT,
                        TPMT_SYM_DEF)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[-1])
    tcti = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) == 3 else 100
    with ESAPI(tcti) as ectx:
        template = TPM2B_PUBLIC.parse(
            "rsa2048:null:null",
            objectAttributes="userwithauth|decrypt|fixedtpm|fixedparent|sensitivedataorigin")
        handle, public, _, _, _ = ectx.create_primary(TPM2B_SENSITIVE_CREATE(), template,
                                                      ESYS_TR.OWNER)
        try:
            n = int.from_bytes(bytes(public.publicArea.unique.rsa), "big")
            secret = bytes(range(32))
            c1 = RSAPublicNumbers(65537, n).public_key().encrypt(
                secret, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(),
                                     label=None))
            scheme = TPMT_RSA_DECRYPT(scheme=TPM2_ALG.OAEP)
            scheme.details.oaep.hashAlg = TPM2_ALG.SHA256
            times = []
            for _ in range(count):
                t0 = time.perf_counter()
                out = ectx.rsa_decrypt(handle, TPM2B_PUBLIC_KEY_RSA(c1), scheme, TPM2B_DATA())
                times.append((time.perf_counter() - t0) * 1e3)
                if bytes(out) != secret:
                    sys.exit("tpm_decrypt_time: the TPM returned a wrong plaintext")
        finally:
            ectx.flush_context(handle)
        session = ectx.start_auth_session(ESYS_TR.NONE, ESYS_TR.NONE, TPM2_SE.POLICY,
                                          TPMT_SYM_DEF(algorithm=TPM2_ALG.NULL), TPM2_ALG.SHA256)
        try:
            policy = []
            for _ in range(count):
                t0 = time.perf_counter()
                ectx.policy_pcr(session, TPM2B_DIGEST(), "sha256:0,1,2,3,4,5,6,7")
                policy.append((time.perf_counter() - t0) * 1e3)
        finally:
            ectx.flush_context(session)
    dec, pol = statistics.median(times), statistics.median(policy)
    print("tpm_decrypt_ms=%.2f policy_pcr_ms=%.2f per_key_ms=%.2f n=%d" % (dec, pol, dec + pol,
                                                                          count))


if __name__ == "__main__":
    main()
