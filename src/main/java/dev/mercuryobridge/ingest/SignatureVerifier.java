package dev.mercuryobridge.ingest;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * Verifies Mercuryo's {@code X-Signature}: lowercase hex HMAC-SHA256 of the raw body with a Sign
 * Key. Several keys may be active at once (rotation). Mercuryo documents two variants (the raw
 * bytes, and the body with all whitespace removed); both are accepted and the match records which.
 * Every comparison is constant-time, and every key and variant is tried, so timing reveals
 * neither which key nor how much of the signature matched.
 */
public final class SignatureVerifier {

    public enum Variant { RAW, WHITESPACE_STRIPPED;
        public String dbValue() {
            return name().toLowerCase();
        }
    }

    /** Which key (by its non-secret fingerprint) and which variant verified a body. */
    public record Match(int keyIndex, String keyFingerprint, Variant variant) {}

    private static final int SIGNATURE_HEX_LENGTH = 64;

    private final List<SecretKeySpec> keys;
    private final List<String> fingerprints;

    public SignatureVerifier(List<String> signKeys) {
        if (signKeys.isEmpty()) {
            throw new IllegalArgumentException("at least one sign key is required");
        }
        this.keys = signKeys.stream()
                .map(k -> new SecretKeySpec(k.getBytes(StandardCharsets.UTF_8), "HmacSHA256"))
                .toList();
        this.fingerprints = signKeys.stream().map(SignatureVerifier::fingerprint).toList();
    }

    /**
     * Returns the match, or empty when the header is missing, malformed or matches no key.
     * The header may be in upper or lower case hex; anything else is rejected.
     */
    public Optional<Match> verify(byte[] body, String signatureHeader) {
        byte[] expected = decode(signatureHeader);
        if (expected == null) {
            return Optional.empty();
        }
        byte[] stripped = stripWhitespace(body);
        Match found = null;
        for (int i = 0; i < keys.size(); i++) {
            boolean raw = MessageDigest.isEqual(hmac(keys.get(i), body), expected);
            boolean ws = MessageDigest.isEqual(hmac(keys.get(i), stripped), expected);
            if (found == null && raw) {
                found = new Match(i, fingerprints.get(i), Variant.RAW);
            } else if (found == null && ws) {
                found = new Match(i, fingerprints.get(i), Variant.WHITESPACE_STRIPPED);
            }
        }
        return Optional.ofNullable(found);
    }

    /** Lowercase hex HMAC-SHA256 of the body: what Mercuryo puts in X-Signature. */
    public static String sign(String key, byte[] body) {
        return HexFormat.of().formatHex(hmac(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"), body));
    }

    /** A stable, non-secret name for a key: the first 12 hex digits of its SHA-256. */
    public static String fingerprint(String key) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] decode(String header) {
        if (header == null) {
            return null;
        }
        String h = header.trim();
        if (h.length() != SIGNATURE_HEX_LENGTH) {
            return null;
        }
        try {
            return HexFormat.of().parseHex(h.toLowerCase());
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Removes ASCII whitespace (space, tab, CR, LF), as Mercuryo's whitespace variant describes. */
    static byte[] stripWhitespace(byte[] body) {
        byte[] out = new byte[body.length];
        int n = 0;
        for (byte b : body) {
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                out[n++] = b;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static byte[] hmac(SecretKeySpec key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac.doFinal(data);
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }
}
