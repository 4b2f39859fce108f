package dev.mercuryobridge.ingest;

import dev.mercuryobridge.testing.Callbacks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CallbackParserTest {

    private static final String USER_UUID = "b5086805-4b83-4415-8a00-5c1ad43210b6";
    private static final String EVENT_ID = "3f8e5b1c-2a4d-4c6e-9f10-7b2c3d4e5f60";

    private static Callback.Transaction transaction(String body) throws InvalidCallbackException {
        Callback parsed = CallbackParser.parse(Callback.Route.TRANSACTION, body.getBytes(StandardCharsets.UTF_8));
        assertThat(parsed).isInstanceOf(Callback.Transaction.class);
        return (Callback.Transaction) parsed;
    }

    private static Callback.SpendCardEvent spendCard(String body) throws InvalidCallbackException {
        Callback parsed = CallbackParser.parse(Callback.Route.SPEND_CARD, body.getBytes(StandardCharsets.UTF_8));
        assertThat(parsed).isInstanceOf(Callback.SpendCardEvent.class);
        return (Callback.SpendCardEvent) parsed;
    }

    /** A minimal transaction callback whose data object ends with {@code extra} (a JSON fragment or ""). */
    private static String dataWith(String extra) {
        return "{\"data\":{\"id\":\"tx-1\",\"type\":\"buy\",\"status\":\"pending\",\"updated_at_ts\":1694071966"
                + (extra.isEmpty() ? "" : "," + extra) + "}}";
    }

    private static void assertInvalidTransaction(String body, String messagePart) {
        assertThatThrownBy(() -> CallbackParser.parse(Callback.Route.TRANSACTION, body.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(InvalidCallbackException.class)
                .hasMessageContaining(messagePart);
    }

    private static void assertInvalidSpendCard(String body, String messagePart) {
        assertThatThrownBy(() -> CallbackParser.parse(Callback.Route.SPEND_CARD, body.getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(InvalidCallbackException.class)
                .hasMessageContaining(messagePart);
    }

    // --- valid transaction callbacks -------------------------------------------------------------

    @Test
    void reference_sample_parses_with_exact_amounts() throws Exception {
        Callback.Transaction t = transaction(Callbacks.REFERENCE_SAMPLE);

        assertThat(t.id()).isEqualTo("0ab3f70c72c0f5056");
        assertThat(t.type()).isEqualTo("buy");
        assertThat(t.status()).isEqualTo("paid");
        assertThat(t.updatedAtTs()).isEqualTo(1694071966L);
        assertThat(t.createdAtTs()).isEqualTo(1694071953L);
        assertThat(t.paymentMethod()).isEqualTo("card");
        assertThat(t.merchantTransactionId()).isEqualTo("123");
        assertThat(t.amount()).isEqualByComparingTo(new BigDecimal("0.00148310"));
        assertThat(t.amount().toPlainString()).isEqualTo("0.00148310");
        assertThat(t.currency()).isEqualTo("BTC");
        assertThat(t.fiatAmount()).isEqualByComparingTo(new BigDecimal("50.00"));
        assertThat(t.fiatAmount().toPlainString()).isEqualTo("50.00");
        assertThat(t.fiatCurrency()).isEqualTo("USD");
        assertThat(t.fee().toPlainString()).isEqualTo("11.80");
        assertThat(t.partnerFee().toPlainString()).isEqualTo("0.00");
        assertThat(t.rate().toPlainString()).isEqualTo("25756.99");
        assertThat(t.userUuid()).isEqualTo(USER_UUID);
        assertThat(t.userEmail()).isEqualTo("sf@mercuryo.io");
    }

    @Test
    void reference_sample_keeps_every_field_in_data() throws Exception {
        Callback.Transaction t = transaction(Callbacks.REFERENCE_SAMPLE);

        assertThat(t.data().get("card").get("number").textValue()).isEqualTo("1111");
        assertThat(t.data().get("user").get("phone").textValue()).isEqualTo("+3570000000");
        assertThat(t.data().has("card_masked_pan")).isTrue();
        assertThat(t.data().get("card_masked_pan").isNull()).isTrue();
        assertThat(t.data().get("amount").textValue()).isEqualTo("0.00148310");
    }

    @Test
    void payload_envelope_is_accepted() throws Exception {
        String body = "{\"payload\":{\"data\":{\"id\":\"0ab3f70c72c0f5056\",\"type\":\"buy\",\"status\":\"paid\","
                + "\"amount\":\"0.00148310\",\"updated_at_ts\":1694071966}}}";

        Callback.Transaction t = transaction(body);

        assertThat(t.id()).isEqualTo("0ab3f70c72c0f5056");
        assertThat(t.status()).isEqualTo("paid");
        assertThat(t.updatedAtTs()).isEqualTo(1694071966L);
        assertThat(t.amount().toPlainString()).isEqualTo("0.00148310");
    }

    @Test
    void unknown_fields_are_kept_in_data() throws Exception {
        Callback.Transaction t = transaction(dataWith("\"brand_new_field\":{\"nested\":[1,2,3]},\"tx\":{\"id\":\"0xabc\",\"address\":\"bc1q\"}"));

        assertThat(t.data().get("brand_new_field").get("nested").size()).isEqualTo(3);
        assertThat(t.data().get("tx").get("address").textValue()).isEqualTo("bc1q");
    }

    @Test
    void updated_at_string_is_used_when_updated_at_ts_is_missing() throws Exception {
        String body = Callbacks.REFERENCE_SAMPLE.replace("\"updated_at_ts\":1694071966,", "");
        assertThat(body).doesNotContain("updated_at_ts");

        Callback.Transaction t = transaction(body);

        assertThat(t.updatedAtTs()).isEqualTo(1694071966L);
    }

    @Test
    void updated_at_iso_instant_is_accepted_as_a_fallback() throws Exception {
        String body = "{\"data\":{\"id\":\"tx-1\",\"status\":\"pending\",\"updated_at\":\"2023-09-07T07:32:46Z\"}}";

        assertThat(transaction(body).updatedAtTs()).isEqualTo(1694071966L);
    }

    @Test
    void updated_at_ts_wins_over_updated_at() throws Exception {
        String body = dataWith("\"updated_at\":\"2000-01-01 00:00:00\"");

        assertThat(transaction(body).updatedAtTs()).isEqualTo(1694071966L);
    }

    @Test
    void numbers_given_as_json_numbers_are_accepted() throws Exception {
        String body = "{\"data\":{\"id\":123456789,\"type\":\"buy\",\"status\":\"paid\",\"amount\":0.00148310,"
                + "\"fiat_amount\":50,\"fee\":11.80,\"updated_at_ts\":1694071966,\"created_at_ts\":1694071953}}";

        Callback.Transaction t = transaction(body);

        assertThat(t.id()).isEqualTo("123456789");
        // Exact, scale included: 0.00148310 stays 0.00148310, 11.80 stays 11.80.
        assertThat(t.amount().toPlainString()).isEqualTo("0.00148310");
        assertThat(t.fiatAmount().toPlainString()).isEqualTo("50");
        assertThat(t.fee().toPlainString()).isEqualTo("11.80");
        assertThat(t.data().get("fee").decimalValue().toPlainString()).isEqualTo("11.80");
        assertThat(t.updatedAtTs()).isEqualTo(1694071966L);
        assertThat(t.createdAtTs()).isEqualTo(1694071953L);
    }

    @Test
    void numbers_given_as_numeric_strings_are_accepted() throws Exception {
        String body = "{\"data\":{\"id\":\"123456789\",\"type\":\"buy\",\"status\":\"paid\",\"amount\":\" 0.00148310 \","
                + "\"fiat_amount\":\"50\",\"updated_at_ts\":\"1694071966\",\"created_at_ts\":\"1694071953\"}}";

        Callback.Transaction t = transaction(body);

        assertThat(t.id()).isEqualTo("123456789");
        assertThat(t.amount().toPlainString()).isEqualTo("0.00148310");
        assertThat(t.fiatAmount()).isEqualByComparingTo(new BigDecimal("50"));
        assertThat(t.updatedAtTs()).isEqualTo(1694071966L);
        assertThat(t.createdAtTs()).isEqualTo(1694071953L);
    }

    @Test
    void status_type_and_currency_are_normalised() throws Exception {
        String body = "{\"data\":{\"id\":\"tx-1\",\"type\":\"BUY\",\"status\":\" Paid \",\"currency\":\"btc\",\"updated_at_ts\":1}}";

        Callback.Transaction t = transaction(body);

        assertThat(t.type()).isEqualTo("buy");
        assertThat(t.status()).isEqualTo("paid");
        assertThat(t.currency()).isEqualTo("BTC");
    }

    @Test
    void optional_fields_may_be_absent_null_or_blank() throws Exception {
        Callback.Transaction t = transaction(dataWith("\"amount\":null,\"fee\":\"\",\"currency\":null"));

        assertThat(t.amount()).isNull();
        assertThat(t.fee()).isNull();
        assertThat(t.currency()).isNull();
        assertThat(t.fiatAmount()).isNull();
        assertThat(t.createdAtTs()).isNull();
        assertThat(t.userUuid()).isNull();
        assertThat(t.userEmail()).isNull();
    }

    @Test
    void id_of_128_characters_is_accepted() throws Exception {
        String id = "a".repeat(128);

        assertThat(transaction("{\"data\":{\"id\":\"" + id + "\",\"status\":\"new\",\"updated_at_ts\":1}}").id()).isEqualTo(id);
    }

    // --- invalid transaction callbacks -----------------------------------------------------------

    @Test
    void body_that_is_not_json_is_invalid() {
        assertInvalidTransaction("this is not json", "not valid JSON");
    }

    @Test
    void empty_body_is_invalid() {
        assertInvalidTransaction("", "not a JSON object");
    }

    @Test
    void json_array_is_invalid() {
        assertInvalidTransaction("[" + dataWith("") + "]", "not a JSON object");
    }

    @Test
    void json_scalar_is_invalid() {
        assertInvalidTransaction("\"paid\"", "not a JSON object");
    }

    @Test
    void body_without_data_is_invalid() {
        assertInvalidTransaction("{\"id\":\"tx-1\",\"status\":\"paid\"}", "no \"data\" object");
        assertInvalidTransaction("{\"data\":\"tx-1\"}", "no \"data\" object");
        assertInvalidTransaction("{\"payload\":{}}", "no \"data\" object");
    }

    @Test
    void missing_id_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"status\":\"paid\",\"updated_at_ts\":1694071966}}", "\"id\" is missing");
    }

    @Test
    void missing_status_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"updated_at_ts\":1694071966}}", "\"status\" is missing");
    }

    @Test
    void status_with_unsafe_characters_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"paid; drop\",\"updated_at_ts\":1}}", "\"status\" is not a valid name");
    }

    @Test
    void missing_updated_at_and_updated_at_ts_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"paid\"}}", "neither \"updated_at_ts\" nor \"updated_at\"");
    }

    @Test
    void unparseable_updated_at_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"paid\",\"updated_at\":\"yesterday\"}}", "\"updated_at\" is not a UTC time");
    }

    @ParameterizedTest(name = "id {0}")
    @ValueSource(strings = {"../etc", "a/b", "tx 1", "-leading-dash", "tx\\u00e9"})
    void id_with_bad_characters_is_invalid(String id) {
        assertInvalidTransaction("{\"data\":{\"id\":\"" + id + "\",\"status\":\"paid\",\"updated_at_ts\":1}}", "\"id\" is not a valid id");
    }

    @Test
    void id_of_200_characters_is_invalid() {
        String id = "a".repeat(200);

        assertInvalidTransaction("{\"data\":{\"id\":\"" + id + "\",\"status\":\"paid\",\"updated_at_ts\":1}}", "\"id\" is not a valid id");
    }

    @Test
    void id_that_is_an_object_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":{\"x\":1},\"status\":\"paid\",\"updated_at_ts\":1}}", "\"id\" is not a valid id");
    }

    @Test
    void amount_that_is_not_a_number_is_invalid() {
        assertInvalidTransaction(dataWith("\"amount\":\"abc\""), "\"amount\" is not a decimal amount");
    }

    @Test
    void amount_in_exponent_notation_string_is_invalid() {
        assertInvalidTransaction(dataWith("\"amount\":\"1e400\""), "\"amount\" is not a decimal amount");
    }

    @Test
    void amount_number_out_of_range_is_invalid() {
        assertInvalidTransaction(dataWith("\"amount\":1e25"), "\"amount\" is out of range");
    }

    @Test
    void amount_of_twenty_one_digits_is_out_of_range() {
        assertInvalidTransaction(dataWith("\"fiat_amount\":\"100000000000000000000\""), "\"fiat_amount\" is out of range");
    }

    @Test
    void amount_with_more_than_eighteen_decimals_is_out_of_range() {
        assertInvalidTransaction(dataWith("\"fee\":\"0.0000000000000000001\""), "\"fee\" is out of range");
        assertInvalidTransaction(dataWith("\"fee\":1e-30"), "\"fee\" is out of range");
    }

    @Test
    void negative_timestamp_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"paid\",\"updated_at_ts\":-1}}", "\"updated_at_ts\" is out of range (-1)");
    }

    @Test
    void negative_timestamp_string_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"paid\",\"updated_at_ts\":\"-1\"}}", "\"updated_at_ts\" is not a whole number");
    }

    @Test
    void huge_timestamp_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"paid\",\"updated_at_ts\":99999999999999}}", "\"updated_at_ts\" is out of range");
        assertInvalidTransaction(dataWith("\"created_at_ts\":99999999999999"), "\"created_at_ts\" is out of range");
    }

    @Test
    void timestamp_beyond_a_long_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"paid\",\"updated_at_ts\":100000000000000000000000}}", "\"updated_at_ts\" is not a whole number");
    }

    @Test
    void fractional_timestamp_is_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"paid\",\"updated_at_ts\":1694071966.5}}", "\"updated_at_ts\" is not a whole number");
    }

    @Test
    void duplicate_keys_are_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"pending\",\"status\":\"paid\",\"updated_at_ts\":1}}", "Duplicate field 'status'");
    }

    @Test
    void duplicate_top_level_keys_are_invalid() {
        assertInvalidTransaction("{\"data\":{\"id\":\"tx-1\",\"status\":\"paid\",\"updated_at_ts\":1},\"data\":{}}", "not valid JSON");
    }

    @Test
    void string_containing_nul_is_invalid() {
        assertInvalidTransaction(dataWith("\"note\":\"a\\u0000b\""), "NUL character");
    }

    @Test
    void field_name_containing_nul_is_invalid() {
        assertInvalidTransaction(dataWith("\"no\\u0000te\":\"x\""), "NUL character");
    }

    @Test
    void nul_nested_inside_an_array_is_invalid() {
        assertInvalidTransaction(dataWith("\"list\":[{\"x\":[\"\\u0000\"]}]"), "NUL character");
    }

    @Test
    void unpaired_high_surrogate_is_invalid() {
        assertInvalidTransaction(dataWith("\"note\":\"\\ud800\""), "unpaired UTF-16 surrogate");
        assertInvalidTransaction(dataWith("\"note\":\"\\ud800x\""), "unpaired UTF-16 surrogate");
    }

    @Test
    void unpaired_low_surrogate_is_invalid() {
        assertInvalidTransaction(dataWith("\"note\":\"\\udc00\\ud800\""), "unpaired UTF-16 surrogate");
    }

    @Test
    void paired_surrogates_are_accepted() throws Exception {
        Callback.Transaction t = transaction(dataWith("\"note\":\"\\ud83d\\ude00 ok\""));

        assertThat(t.data().get("note").textValue()).isEqualTo("\uD83D\uDE00 ok");
    }

    @Test
    void nesting_deeper_than_64_is_invalid() {
        String deep = "[".repeat(70) + "]".repeat(70);

        assertInvalidTransaction(dataWith("\"deep\":" + deep), "not valid JSON");
    }

    @Test
    void nesting_of_exactly_64_levels_is_accepted() throws Exception {
        // The root object and data make two levels.
        String deep = "[".repeat(62) + "]".repeat(62);

        assertThat(transaction(dataWith("\"deep\":" + deep)).data().has("deep")).isTrue();
    }

    @Test
    void nesting_of_65_levels_is_invalid() {
        String deep = "[".repeat(63) + "]".repeat(63);

        assertInvalidTransaction(dataWith("\"deep\":" + deep), "nesting depth");
    }

    @Test
    void trailing_garbage_after_the_object_is_invalid() {
        assertInvalidTransaction(dataWith("") + " garbage", "not valid JSON");
    }

    @Test
    void second_object_after_the_first_is_invalid() {
        assertInvalidTransaction(dataWith("") + dataWith(""), "not valid JSON");
    }

    @Test
    void trailing_whitespace_after_the_object_is_accepted() throws Exception {
        assertThat(transaction(dataWith("") + " \n\t").id()).isEqualTo("tx-1");
    }

    @Test
    void merchant_transaction_id_longer_than_256_is_invalid() {
        assertInvalidTransaction(dataWith("\"merchant_transaction_id\":\"" + "m".repeat(257) + "\""), "\"merchant_transaction_id\" is longer than 256 characters");
    }

    // --- Spend Card events -----------------------------------------------------------------------

    @Test
    void card_status_event_parses() throws Exception {
        Callback.SpendCardEvent e = spendCard(Callbacks.cardStatusEvent(EVENT_ID, "card-42", "active"));

        assertThat(e.eventId()).isEqualTo(UUID.fromString(EVENT_ID));
        assertThat(e.eventName()).isEqualTo("card_status");
        assertThat(e.cardId()).isEqualTo("card-42");
        assertThat(e.userUuid()).isEqualTo(USER_UUID);
        assertThat(e.body().get("status").textValue()).isEqualTo("active");
    }

    @Test
    void uppercase_event_id_is_accepted() throws Exception {
        Callback.SpendCardEvent e = spendCard(Callbacks.cardStatusEvent(EVENT_ID.toUpperCase(), "card-42", "active"));

        assertThat(e.eventId()).isEqualTo(UUID.fromString(EVENT_ID));
    }

    @Test
    void card_id_is_found_in_nested_data() throws Exception {
        String body = "{\"event_id\":\"" + EVENT_ID + "\",\"event_name\":\"crypto_top_up\","
                + "\"data\":{\"card\":{\"id\":\"card-7\"},\"user\":{\"uuid4\":\"" + USER_UUID + "\"}},"
                + "\"sell_request\":{\"id\":\"sr-1\",\"status\":\"succeeded\"}}";

        Callback.SpendCardEvent e = spendCard(body);

        assertThat(e.eventName()).isEqualTo("crypto_top_up");
        assertThat(e.cardId()).isEqualTo("card-7");
        assertThat(e.userUuid()).isEqualTo(USER_UUID);
        assertThat(e.body().get("sell_request").get("id").textValue()).isEqualTo("sr-1");
    }

    @Test
    void unknown_event_name_is_accepted_without_card_or_user() throws Exception {
        Callback.SpendCardEvent e = spendCard("{\"event_id\":\"" + EVENT_ID + "\",\"event_name\":\"something_new\"}");

        assertThat(e.eventName()).isEqualTo("something_new");
        assertThat(e.cardId()).isNull();
        assertThat(e.userUuid()).isNull();
    }

    @Test
    void missing_event_id_is_invalid() {
        assertInvalidSpendCard("{\"event_name\":\"card_status\",\"card_id\":\"card-42\"}", "\"event_id\" is missing");
    }

    @Test
    void non_uuid_event_id_is_invalid() {
        assertInvalidSpendCard("{\"event_id\":\"not-a-uuid\",\"event_name\":\"card_status\"}", "\"event_id\" is not a UUID");
    }

    @Test
    void non_canonical_event_id_is_invalid() {
        assertInvalidSpendCard("{\"event_id\":\"1-2-3-4-5\",\"event_name\":\"card_status\"}", "\"event_id\" is not a canonical UUID");
    }

    @Test
    void missing_event_name_is_invalid() {
        assertInvalidSpendCard("{\"event_id\":\"" + EVENT_ID + "\",\"card_id\":\"card-42\"}", "\"event_name\" is missing");
    }

    @Test
    void card_id_with_bad_characters_is_invalid() {
        assertInvalidSpendCard(Callbacks.cardStatusEvent(EVENT_ID, "../card", "active"), "\"card_id\" is not a valid id");
    }

    @Test
    void spend_card_route_applies_the_same_text_checks() {
        assertInvalidSpendCard("{\"event_id\":\"" + EVENT_ID + "\",\"event_name\":\"card_status\",\"x\":\"\\u0000\"}", "NUL character");
        assertInvalidSpendCard("[]", "not a JSON object");
    }

    @Test
    void route_db_values_are_lowercase_names() {
        assertThat(Callback.Route.TRANSACTION.dbValue()).isEqualTo("transaction");
        assertThat(Callback.Route.SPEND_CARD.dbValue()).isEqualTo("spend_card");
    }

    // --- numbers that cannot be stored, in any field ------------------------------------------------

    @Test
    void amount_of_1e2147483647_is_invalid_and_the_reason_stays_short() {
        // The old reason wrote the amount out in full: two billion characters, OutOfMemoryError.
        assertThatThrownBy(() -> transaction(dataWith("\"amount\":1e2147483647")))
                .isInstanceOf(InvalidCallbackException.class)
                .hasMessageContaining("more than 100 digits")
                .satisfies(e -> assertThat(e.getMessage()).hasSizeLessThan(200));
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1e-2147483648", "-1e-2147483648", "1e99999999999", "0.5e-2147483648"})
    void number_whose_exponent_overflows_is_invalid_not_an_error(String number) {
        assertInvalidTransaction(dataWith("\"note\":" + number), "a number cannot be read");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"1e2147483647", "1E+2147483648", "-1e2147483647", "1e-2147483647", "1e400", "1e-400", "1e100", "1e-100",
            "123456789012345678901234567890123456789012345678901234567890e50"})
    void number_of_more_than_100_digits_written_out_is_invalid_in_a_field_we_do_not_parse(String number) {
        assertInvalidTransaction(dataWith("\"not_parsed_by_us\":{\"deep\":[" + number + "]}"), "more than 100 digits");
    }

    @Test
    void number_of_2000_digits_is_invalid() {
        assertInvalidTransaction(dataWith("\"x\":" + "7".repeat(2_000)), "not valid JSON");
    }

    @Test
    void numbers_of_exactly_100_digits_written_out_are_accepted() throws Exception {
        Callback.Transaction t = transaction(dataWith("\"a\":1e99,\"b\":1e-99,\"c\":-" + "9".repeat(100)
                + ",\"d\":0." + "1".repeat(99)));

        assertThat(t.data().get("a").decimalValue()).isEqualByComparingTo("1e99");
    }

    @Test
    void written_out_digits_come_from_precision_and_scale() {
        assertThat(CallbackParser.writtenOutDigits(new BigDecimal("1e3"))).isEqualTo(4);
        assertThat(CallbackParser.writtenOutDigits(new BigDecimal("0.001"))).isEqualTo(4);
        assertThat(CallbackParser.writtenOutDigits(new BigDecimal("123.45"))).isEqualTo(5);
        assertThat(CallbackParser.writtenOutDigits(new BigDecimal("1e2147483647"))).isEqualTo(2_147_483_648L);
        assertThat(CallbackParser.writtenOutDigits(new BigDecimal("1e-2147483647"))).isEqualTo(2_147_483_648L);
    }

    @Test
    void huge_exponent_inside_a_spend_card_event_is_invalid() {
        assertInvalidSpendCard("{\"event_id\":\"" + EVENT_ID + "\",\"event_name\":\"card_transaction\","
                + "\"transaction\":{\"fx_rate\":1e2147483647}}", "more than 100 digits");
    }

    // --- Spend Card amounts --------------------------------------------------------------------------

    private static String cardEvent(String name, String extra) {
        return "{\"event_id\":\"" + EVENT_ID + "\",\"event_name\":\"" + name + "\",\"card_id\":\"c1\"," + extra + "}";
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"\"1e2147483647\"", "\"1e400\"", "\"abc\"", "\"12,50\"", "\"NaN\"", "{}", "[]", "true",
            "1e25", "\"0.0000000000000000001\"", "\"100000000000000000000\""})
    void card_transaction_amount_that_is_not_a_sane_decimal_is_invalid(String amount) {
        assertInvalidSpendCard(cardEvent("card_transaction", "\"transaction\":{\"type\":\"PURCHASE\",\"amount\":" + amount + "}"),
                "\"transaction.amount\"");
    }

    @Test
    void sell_request_and_card_balance_amounts_are_checked_and_named() {
        assertInvalidSpendCard(cardEvent("crypto_top_up", "\"sell_request\":{\"id\":\"sr1\",\"fiat_amount\":\"1e2147483647\"}"),
                "\"sell_request.fiat_amount\" is not a decimal amount");
        assertInvalidSpendCard(cardEvent("crypto_top_up", "\"card_balance\":{\"fiat_amount\":\"-\"}"),
                "\"card_balance.fiat_amount\" is not a decimal amount");
        assertInvalidSpendCard(cardEvent("crypto_top_up", "\"sell_request\":{\"fee\":1e21}"),
                "\"sell_request.fee\" is out of range");
    }

    @Test
    void sane_spend_card_amounts_negative_ones_included_are_accepted() throws Exception {
        Callback.SpendCardEvent e = spendCard(cardEvent("card_transaction",
                "\"transaction\":{\"type\":\"REFUND\",\"amount\":\"-5.00\",\"local_amount\":12.5},"
                        + "\"card_balance\":{\"fiat_amount\":\"90.00\"},\"sell_request\":{\"fiat_amount\":null}"));

        assertThat(e.body().at("/transaction/amount").textValue()).isEqualTo("-5.00");
    }

    @Test
    void sell_request_id_that_is_not_an_id_is_invalid() {
        assertInvalidSpendCard(cardEvent("crypto_top_up", "\"sell_request\":{\"id\":\"" + "x".repeat(10_000) + "\"}"),
                "\"sell_request.id\" is not a valid id");
        assertInvalidSpendCard(cardEvent("crypto_top_up", "\"sell_request\":{\"id\":\"=cmd|' /C calc'!A0\"}"),
                "\"sell_request.id\" is not a valid id");
    }

    @Test
    void card_id_in_a_transaction_callback_that_is_not_an_id_is_invalid() {
        // 10,000 characters would not fit PostgreSQL's btree index on card_user.card_id.
        assertInvalidTransaction(dataWith("\"card_id\":\"" + "k".repeat(10_000) + "\""), "\"card_id\" is not a valid id");
    }

    // --- reasons are safe to store and log ---------------------------------------------------------

    @Test
    void reason_quoting_a_nul_from_the_body_is_made_storable() {
        assertThatThrownBy(() -> CallbackParser.parse(Callback.Route.TRANSACTION, "abc\u0000def\r\nFAKE LOG LINE".getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(InvalidCallbackException.class)
                .satisfies(e -> assertThat(e.getMessage()).contains("not valid JSON").doesNotContain("\u0000")
                        .doesNotContain("\n").doesNotContain("\r"));
    }

    @Test
    void reason_is_bounded_and_keeps_paired_surrogates() {
        String reason = InvalidCallbackException.safe("\uD83D\uDE00 " + "y".repeat(10_000) + "\uD800");

        assertThat(reason).startsWith("\uD83D\uDE00 ").hasSizeLessThanOrEqualTo(InvalidCallbackException.MAX_REASON_LENGTH + 1)
                .endsWith("…");
        assertThat(InvalidCallbackException.safe("lone \uDC00 surrogate")).isEqualTo("lone \uFFFD surrogate");
    }
}
