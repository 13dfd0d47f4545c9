#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Service time of one TPM2_RSA_Decrypt (RSA-2048, OAEP SHA-256) on a given TPM, as the start-up
benchmark's lower bound: every released key costs one such decrypt of its C1 (Key Vault wraps a
fresh AES key per release), and a TPM executes one command at a time. Creates a transient
primary decryption key in the owner hierarchy, times N decrypts from this client, flushes the
key. Prints `tpm_decrypt_ms=<median> min=<min> p90=<p90> n=<N>`. Not a test.
Usage: bench/tpm_decrypt_time.py TCTI [N]   (TCTI as in tpm2-tss, e.g. swtpm:host=127.0.0.1,port=P)
"""
import statistics
import sys
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from tpm2_pytss import (ESAPI, ESYS_TR, TPM2_ALG, TPM2B_DATA, TPM2B_PUBLIC, TPM2B_PUBLIC_KEY_RSA,
                        TPM2B_SENSITIVE_CREATE, TPMT_RSA_DECRYPT)


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
    times.sort()
    print("tpm_decrypt_ms=%.2f min=%.2f p90=%.2f n=%d" % (statistics.median(times), times[0],
                                                          times[int(len(times) * 0.9)], count))


if __name__ == "__main__":
    main()
