// SPDX-License-Identifier: Apache-2.0
// Used by tests/integration/programs/java.sh: the JDK's SunPKCS11 provider, configured with the
// file given as args[0] (library = the module under test), opens the token as a "PKCS11"
// KeyStore, prints every alias with its entry type, then for each "alias:algorithm" argument
// signs args[1] with that alias's private key, checks the signature with the public key of the
// alias's certificate and writes it to <outdir>/<alias>.sig for openssl to verify again.
//
//   java SkrSign CONFIG DATAFILE OUTDIR demo-rsa:SHA256withRSA demo-ec:SHA256withECDSA
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Key;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.Security;
import java.security.Signature;
import java.security.cert.Certificate;
import java.util.Collections;

public final class SkrSign {
    private SkrSign() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: SkrSign CONFIG DATAFILE OUTDIR ALIAS:ALGORITHM...");
            System.exit(2);
        }
        Provider base = Security.getProvider("SunPKCS11");
        if (base == null) {
            throw new IllegalStateException("this JDK has no SunPKCS11 provider");
        }
        Provider p = base.configure(args[0]);
        Security.addProvider(p);
        System.out.println("provider: " + p.getName());

        // The token has no PIN (CKF_LOGIN_REQUIRED clear): SunPKCS11 skips C_Login then.
        KeyStore ks = KeyStore.getInstance("PKCS11", p);
        ks.load(null, null);
        for (String alias : Collections.list(ks.aliases())) {
            String kind = ks.isKeyEntry(alias)
                    ? (ks.getCertificate(alias) != null ? "private-key" : "secret-key")
                    : "certificate";
            System.out.println("alias: " + alias + " " + kind);
        }

        byte[] data = Files.readAllBytes(Path.of(args[1]));
        Path outdir = Path.of(args[2]);
        for (int i = 3; i < args.length; i++) {
            String[] spec = args[i].split(":", 2);
            String alias = spec[0];
            String algorithm = spec[1];
            Key key = ks.getKey(alias, null);
            if (!(key instanceof PrivateKey)) {
                throw new IllegalStateException("alias " + alias + " has no private key");
            }
            Certificate cert = ks.getCertificate(alias);
            if (cert == null) {
                throw new IllegalStateException("alias " + alias + " has no certificate");
            }
            Signature signer = Signature.getInstance(algorithm, p);
            signer.initSign((PrivateKey) key);
            signer.update(data);
            byte[] sig = signer.sign();

            // Verified in software (default providers) with the certificate's public key.
            Signature verifier = Signature.getInstance(algorithm);
            verifier.initVerify(cert.getPublicKey());
            verifier.update(data);
            if (!verifier.verify(sig)) {
                throw new IllegalStateException(algorithm + " signature of " + alias
                        + " does not verify with its certificate");
            }
            Files.write(outdir.resolve(alias + ".sig"), sig);
            Files.write(outdir.resolve(alias + ".cert.der"), cert.getEncoded());
            System.out.println("signed: " + alias + " " + algorithm + " " + sig.length
                    + " bytes, verified with the certificate (" + signer.getProvider().getName()
                    + ")");
        }
    }
}
