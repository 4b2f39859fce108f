package dev.mercuryobridge.ingest;

import dev.mercuryobridge.testing.Callbacks;
import org.junit.jupiter.api.Test;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SignatureVerifierTest {

    private static final String KEY = "sign-key-one-0123456789abcdef";
    private static final String NEXT_KEY = "sign-key-two-fedcba9876543210";
    private static final String UNCONFIGURED_KEY = "sign-key-not-configured-000000";
    private static final byte[] BODY = Callbacks.REFERENCE_SAMPLE.getBytes(StandardCharsets.UTF_8);

    private final SignatureVerifier verifier = new SignatureVerifier(List.of(KEY));

    @Test
    void sign_matches_the_rfc_4231_hmac_sha256_test_vector() {
        String signature = SignatureVerifier.sign("Jefe", "what do ya want for nothing?".getBytes(StandardCharsets.US_ASCII));

        assertThat(signature).isEqualTo("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    @Test
    void sign_is_the_lowercase_hex_hmac_of_the_raw_body() {
        assertThat(SignatureVerifier.sign(KEY, BODY)).isEqualTo(hmacHex(KEY, BODY));
    }

    @Test
    void good_signature_verifies_with_the_raw_variant() {
        Optional<SignatureVerifier.Match> match = verifier.verify(BODY, hmacHex(KEY, BODY));

        assertThat(match).isPresent();
        assertThat(match.get().keyIndex()).isZero();
        assertThat(match.get().keyFingerprint()).isEqualTo(sha256Prefix(KEY));
        assertThat(match.get().variant()).isEqualTo(SignatureVerifier.Variant.RAW);
    }

    @Test
    void bad_signature_is_rejected() {
        String good = hmacHex(KEY, BODY);
        String bad = (good.charAt(0) == '0' ? "1" : "0") + good.substring(1);

        assertThat(verifier.verify(BODY, bad)).isEmpty();
    }

    @Test
    void missing_header_is_rejected() {
        assertThat(verifier.verify(BODY, null)).isEmpty();
    }

    @Test
    void empty_header_is_rejected() {
        assertThat(verifier.verify(BODY, "")).isEmpty();
    }

    @Test
    void signature_of_63_hex_characters_is_rejected() {
        String good = hmacHex(KEY, BODY);

        assertThat(verifier.verify(BODY, good.substring(0, 63))).isEmpty();
    }

    @Test
    void signature_of_65_hex_characters_is_rejected() {
        String good = hmacHex(KEY, BODY);

        assertThat(verifier.verify(BODY, good + "0")).isEmpty();
        assertThat(verifier.verify(BODY, "0" + good)).isEmpty();
    }

    @Test
    void signature_with_non_hex_characters_is_rejected() {
        String good = hmacHex(KEY, BODY);

        assertThat(verifier.verify(BODY, "zz" + good.substring(2))).isEmpty();
        assertThat(verifier.verify(BODY, good.substring(0, 62) + "g0")).isEmpty();
        assertThat(verifier.verify(BODY, "0x" + good.substring(2))).isEmpty();
    }

    @Test
    void uppercase_hex_signature_is_accepted() {
        String upper = hmacHex(KEY, BODY).toUpperCase(Locale.ROOT);

        Optional<SignatureVerifier.Match> match = verifier.verify(BODY, upper);

        assertThat(match).isPresent();
        assertThat(match.get().variant()).isEqualTo(SignatureVerifier.Variant.RAW);
    }

    @Test
    void rotated_new_key_verifies_and_the_match_names_it() {
        SignatureVerifier rotating = new SignatureVerifier(List.of(KEY, NEXT_KEY));

        Optional<SignatureVerifier.Match> match = rotating.verify(BODY, hmacHex(NEXT_KEY, BODY));

        assertThat(match).isPresent();
        assertThat(match.get().keyIndex()).isEqualTo(1);
        assertThat(match.get().keyFingerprint())
                .isEqualTo(sha256Prefix(NEXT_KEY))
                .isEqualTo(SignatureVerifier.fingerprint(NEXT_KEY))
                .isNotEqualTo(SignatureVerifier.fingerprint(KEY));
        assertThat(match.get().variant()).isEqualTo(SignatureVerifier.Variant.RAW);
    }

    @Test
    void rotated_old_key_still_verifies() {
        SignatureVerifier rotating = new SignatureVerifier(List.of(NEXT_KEY, KEY));

        Optional<SignatureVerifier.Match> match = rotating.verify(BODY, hmacHex(KEY, BODY));

        assertThat(match).isPresent();
        assertThat(match.get().keyIndex()).isEqualTo(1);
        assertThat(match.get().keyFingerprint()).isEqualTo(sha256Prefix(KEY));
    }

    private static final byte[] STRIPPED = Callbacks.REFERENCE_SAMPLE.replaceAll("[ \t\r\n]", "").getBytes(StandardCharsets.UTF_8);
    private final SignatureVerifier withStripped = new SignatureVerifier(List.of(KEY),
            Set.of(SignatureVerifier.Variant.RAW, SignatureVerifier.Variant.WHITESPACE_STRIPPED));

    @Test
    void by_default_a_signature_over_the_body_without_whitespace_is_refused_but_recognised() {
        assertThat(STRIPPED).isNotEqualTo(BODY);

        SignatureVerifier.Verification result = verifier.check(BODY, hmacHex(KEY, STRIPPED));

        assertThat(result.match()).isEmpty();
        assertThat(result.strippedVariantWouldMatch()).isTrue();
        assertThat(verifier.verify(BODY, hmacHex(KEY, STRIPPED))).isEmpty();
    }

    @Test
    void a_wrong_signature_is_not_said_to_match_the_stripped_variant() {
        SignatureVerifier.Verification result = verifier.check(BODY, hmacHex(UNCONFIGURED_KEY, STRIPPED));

        assertThat(result.match()).isEmpty();
        assertThat(result.strippedVariantWouldMatch()).isFalse();
    }

    @Test
    void signature_over_the_body_without_whitespace_matches_the_whitespace_stripped_variant_when_enabled() {
        Optional<SignatureVerifier.Match> strippedMatch = withStripped.verify(BODY, hmacHex(KEY, STRIPPED));
        Optional<SignatureVerifier.Match> rawMatch = withStripped.verify(BODY, hmacHex(KEY, BODY));

        assertThat(strippedMatch).isPresent();
        assertThat(strippedMatch.get().variant()).isEqualTo(SignatureVerifier.Variant.WHITESPACE_STRIPPED);
        assertThat(strippedMatch.get().keyIndex()).isZero();
        assertThat(rawMatch).isPresent();
        assertThat(rawMatch.get().variant()).isEqualTo(SignatureVerifier.Variant.RAW);
    }

    @Test
    void with_the_stripped_variant_whitespace_added_inside_a_string_still_verifies_which_is_its_risk() {
        byte[] genuine = "{\"data\":{\"merchant_transaction_id\":\"order42\"}}".getBytes(StandardCharsets.UTF_8);
        byte[] tampered = "{\"data\":{\"merchant_transaction_id\":\"order 42\"}}".getBytes(StandardCharsets.UTF_8);
        String signature = hmacHex(KEY, genuine);

        assertThat(withStripped.verify(tampered, signature)).isPresent();
        assertThat(verifier.verify(tampered, signature)).isEmpty();
    }

    @Test
    void constructor_rejects_a_variant_set_without_raw() {
        assertThatThrownBy(() -> new SignatureVerifier(List.of(KEY), Set.of(SignatureVerifier.Variant.WHITESPACE_STRIPPED)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("raw");
    }

    @Test
    void variants_are_found_by_their_configuration_names() {
        assertThat(SignatureVerifier.Variant.fromName("raw")).isEqualTo(SignatureVerifier.Variant.RAW);
        assertThat(SignatureVerifier.Variant.fromName("whitespace_stripped")).isEqualTo(SignatureVerifier.Variant.WHITESPACE_STRIPPED);
        assertThatThrownBy(() -> SignatureVerifier.Variant.fromName("stripped")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void body_without_whitespace_is_reported_as_the_raw_variant() {
        byte[] compact = "{\"data\":{\"id\":\"abc\",\"status\":\"paid\"}}".getBytes(StandardCharsets.UTF_8);

        Optional<SignatureVerifier.Match> match = verifier.verify(compact, hmacHex(KEY, compact));

        assertThat(match).isPresent();
        assertThat(match.get().variant()).isEqualTo(SignatureVerifier.Variant.RAW);
    }

    @Test
    void variant_db_values_are_lowercase_names() {
        assertThat(SignatureVerifier.Variant.RAW.dbValue()).isEqualTo("raw");
        assertThat(SignatureVerifier.Variant.WHITESPACE_STRIPPED.dbValue()).isEqualTo("whitespace_stripped");
    }

    @Test
    void signature_from_an_unconfigured_key_is_rejected() {
        SignatureVerifier rotating = new SignatureVerifier(List.of(KEY, NEXT_KEY));

        assertThat(rotating.verify(BODY, hmacHex(UNCONFIGURED_KEY, BODY))).isEmpty();
    }

    @Test
    void one_byte_changed_in_the_body_is_rejected() {
        String signature = hmacHex(KEY, BODY);
        String tampered = Callbacks.REFERENCE_SAMPLE.replace("\"amount\":\"0.00148310\"", "\"amount\":\"0.00148311\"");
        assertThat(tampered).isNotEqualTo(Callbacks.REFERENCE_SAMPLE);

        assertThat(verifier.verify(tampered.getBytes(StandardCharsets.UTF_8), signature)).isEmpty();
        assertThat(verifier.verify(BODY, signature)).isPresent();
    }

    @Test
    void fingerprint_is_stable_short_and_not_the_key_itself() {
        String first = SignatureVerifier.fingerprint(KEY);
        String second = SignatureVerifier.fingerprint(KEY);

        assertThat(first).isEqualTo(second)
                .matches("[0-9a-f]{12}")
                .isEqualTo(sha256Prefix(KEY))
                .isNotEqualTo(SignatureVerifier.fingerprint(NEXT_KEY));
        assertThat(KEY).doesNotContain(first);
        assertThat(first).doesNotContain(KEY);
        assertThat(hmacHex(KEY, BODY)).doesNotContain(first);
    }

    @Test
    void constructor_rejects_an_empty_key_list() {
        assertThatThrownBy(() -> new SignatureVerifier(List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("sign key");
    }

    /** HMAC-SHA256, computed here and not by the class under test. */
    private static String hmacHex(String key, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(body));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static String sha256Prefix(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest).substring(0, 12);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
