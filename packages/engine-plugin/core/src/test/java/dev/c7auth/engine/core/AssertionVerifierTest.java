package dev.c7auth.engine.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.PlainJWT;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The verifier on its own, against a real JWKS endpoint (JDK HTTP server on a loopback port 0).
 * Every refusal the plugin promises is exercised here once, and the accepted paths prove the
 * identity (user, groups, tenants) comes out intact.
 */
class AssertionVerifierTest {
  static final String ISS = "https://gateway.test";
  static final String AUD = "engine-a";

  static RSAKey rsa1;
  static RSAKey rsa2;
  static RSAKey otherGateway;
  static ECKey ec;

  HttpServer server;
  final AtomicInteger fetches = new AtomicInteger();
  final AtomicReference<String> jwks = new AtomicReference<>();
  String jwksUrl;

  @BeforeAll
  static void keys() throws Exception {
    rsa1 = new RSAKeyGenerator(2048).keyID("k1").generate();
    rsa2 = new RSAKeyGenerator(2048).keyID("k2").generate();
    otherGateway = new RSAKeyGenerator(2048).keyID("k1").generate();
    ec = new ECKeyGenerator(Curve.P_256).keyID("e1").generate();
  }

  @BeforeEach
  void startJwks() throws Exception {
    publish(rsa1, ec);
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/.well-known/jwks.json",
        ex -> {
          fetches.incrementAndGet();
          byte[] body = jwks.get().getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().add("Content-Type", "application/json");
          ex.sendResponseHeaders(200, body.length);
          ex.getResponseBody().write(body);
          ex.close();
        });
    server.start();
    jwksUrl = "http://127.0.0.1:" + server.getAddress().getPort() + "/.well-known/jwks.json";
  }

  @AfterEach
  void stopJwks() {
    server.stop(0);
  }

  void publish(JWK... keys) {
    jwks.set(AssertionVerifier.jwksJson(java.util.Arrays.stream(keys).map(JWK::toPublicJWK).toList()));
  }

  VerifierConfig.Builder config() {
    return VerifierConfig.builder().issuer(ISS).audience(AUD).jwksUrl(jwksUrl).jwksRefreshMinIntervalSeconds(2);
  }

  AssertionVerifier verifier() {
    return new AssertionVerifier(config().build());
  }

  static JWTClaimsSet.Builder claims() {
    Instant now = Instant.now();
    return new JWTClaimsSet.Builder()
        .issuer(ISS)
        .audience(AUD)
        .subject("alice")
        .claim("groups", List.of("c7auth_users", "reviewers"))
        .claim("tenants", List.of("tenantA"))
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(60)))
        .jwtID(UUID.randomUUID().toString());
  }

  static String sign(JWK key, JWSAlgorithm alg, JWTClaimsSet claims) throws Exception {
    return sign(key, alg, claims, h -> {});
  }

  static String sign(JWK key, JWSAlgorithm alg, JWTClaimsSet claims, Consumer<JWSHeader.Builder> header)
      throws Exception {
    JWSHeader.Builder h = new JWSHeader.Builder(alg).type(new JOSEObjectType(VerifierConfig.ASSERTION_TYPE)).keyID(key.getKeyID());
    header.accept(h);
    JWSSigner signer = key instanceof RSAKey r ? new RSASSASigner(r) : new ECDSASigner((ECKey) key);
    SignedJWT jwt = new SignedJWT(h.build(), claims);
    jwt.sign(signer);
    return jwt.serialize();
  }

  static Refusal refusal(AssertionVerifier v, String token) {
    return assertThrows(AssertionRefusedException.class, () -> v.verify(token)).refusal();
  }

  @Test
  void acceptsRs256WithUserGroupsAndTenants() throws Exception {
    VerifiedAssertion a = verifier().verify(sign(rsa1, JWSAlgorithm.RS256, claims().build()));
    assertEquals("alice", a.userId());
    assertEquals(List.of("c7auth_users", "reviewers"), a.groups());
    assertEquals(List.of("tenantA"), a.tenants());
  }

  @Test
  void acceptsPs256AndEs256() throws Exception {
    AssertionVerifier v = verifier();
    assertEquals("alice", v.verify(sign(rsa1, JWSAlgorithm.PS256, claims().build())).userId());
    assertEquals("alice", v.verify(sign(ec, JWSAlgorithm.ES256, claims().build())).userId());
  }

  @Test
  void emptyGroupsAndTenantsAreNonNullLists() throws Exception {
    VerifiedAssertion a =
        verifier().verify(sign(rsa1, JWSAlgorithm.RS256, claims().claim("groups", List.of()).claim("tenants", List.of()).build()));
    assertNotNull(a.groups());
    assertNotNull(a.tenants());
    assertTrue(a.groups().isEmpty() && a.tenants().isEmpty());
  }

  @Test
  void refusesAlgNone() throws Exception {
    String none = new PlainJWT(claims().build()).serialize();
    assertEquals(Refusal.ALGORITHM, refusal(verifier(), none));
    // A none header with a bogus signature segment attached.
    assertEquals(Refusal.ALGORITHM, refusal(verifier(), none + "AAAA"));
  }

  @Test
  void refusesHmacEvenWithThePublicKeyAsSecret() throws Exception {
    // The classic confusion attack: HS256 keyed with the gateway's public key bytes.
    byte[] secret = rsa1.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8);
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).type(new JOSEObjectType(VerifierConfig.ASSERTION_TYPE)).keyID("k1").build(),
            claims().build());
    jwt.sign(new MACSigner(secret));
    assertEquals(Refusal.ALGORITHM, refusal(verifier(), jwt.serialize()));
  }

  @Test
  void refusesAlgorithmOutsideTheConfiguredList() throws Exception {
    AssertionVerifier esOnly = new AssertionVerifier(config().algorithms(List.of("ES256")).build());
    assertEquals(Refusal.ALGORITHM, refusal(esOnly, sign(rsa1, JWSAlgorithm.RS256, claims().build())));
    assertEquals(Refusal.ALGORITHM, refusal(verifier(), sign(rsa1, JWSAlgorithm.RS512, claims().build())));
  }

  @Test
  void refusesUnknownKeyAndOtherGatewaysKey() throws Exception {
    RSAKey stranger = new RSAKeyGenerator(2048).keyID("zz").generate();
    assertEquals(Refusal.UNKNOWN_KEY, refusal(verifier(), sign(stranger, JWSAlgorithm.RS256, claims().build())));
    // Same kid as ours, different key: the signature does not verify.
    assertEquals(Refusal.BAD_SIGNATURE, refusal(verifier(), sign(otherGateway, JWSAlgorithm.RS256, claims().build())));
  }

  @Test
  void refusesTamperedPayload() throws Exception {
    String token = sign(rsa1, JWSAlgorithm.RS256, claims().build());
    String[] parts = token.split("\\.");
    String forged =
        Base64URL.encode(claims().subject("admin").claim("tenants", List.of("tenantA", "tenantB")).build().toString()).toString();
    assertEquals(Refusal.BAD_SIGNATURE, refusal(verifier(), parts[0] + "." + forged + "." + parts[2]));
  }

  @Test
  void refusesExpiredAndReplayedAfterExpiry() throws Exception {
    Instant past = Instant.now().minusSeconds(120);
    JWTClaimsSet expired = claims().issueTime(Date.from(past)).expirationTime(Date.from(past.plusSeconds(60))).build();
    assertEquals(Refusal.EXPIRED, refusal(verifier(), sign(rsa1, JWSAlgorithm.RS256, expired)));

    // A token accepted now is refused once its exp (+ skew) has passed.
    String token = sign(rsa1, JWSAlgorithm.RS256, claims().build());
    AssertionVerifier later =
        new AssertionVerifier(config().build(), Clock.fixed(Instant.now().plusSeconds(66), ZoneOffset.UTC));
    assertEquals("alice", verifier().verify(token).userId());
    assertEquals(Refusal.EXPIRED, refusal(later, token));
  }

  @Test
  void clockSkewIsSmallAndApplied() throws Exception {
    Instant now = Instant.now();
    JWTClaimsSet justExpired =
        claims().issueTime(Date.from(now.minusSeconds(62))).expirationTime(Date.from(now.minusSeconds(2))).build();
    assertEquals("alice", verifier().verify(sign(rsa1, JWSAlgorithm.RS256, justExpired)).userId());
    JWTClaimsSet future =
        claims().issueTime(Date.from(now.plusSeconds(30))).expirationTime(Date.from(now.plusSeconds(60))).build();
    assertEquals(Refusal.LIFETIME, refusal(verifier(), sign(rsa1, JWSAlgorithm.RS256, future)));
  }

  @Test
  void refusesLifetimeAboveSixtySeconds() throws Exception {
    Instant now = Instant.now();
    JWTClaimsSet longLived = claims().issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(61))).build();
    assertEquals(Refusal.LIFETIME, refusal(verifier(), sign(rsa1, JWSAlgorithm.RS256, longLived)));
    assertThrows(PluginConfigException.class, () -> config().maxLifetimeSeconds(61).build());
  }

  @Test
  void refusesWrongAudienceAndIssuer() throws Exception {
    assertEquals(Refusal.AUDIENCE, refusal(verifier(), sign(rsa1, JWSAlgorithm.RS256, claims().audience("engine-b").build())));
    assertEquals(
        Refusal.AUDIENCE,
        refusal(verifier(), sign(rsa1, JWSAlgorithm.RS256, claims().audience(List.of(AUD, "engine-b")).build())));
    assertEquals(Refusal.AUDIENCE, refusal(verifier(), sign(rsa1, JWSAlgorithm.RS256, claims().audience((String) null).build())));
    assertEquals(Refusal.ISSUER, refusal(verifier(), sign(rsa1, JWSAlgorithm.RS256, claims().issuer("https://evil.test").build())));
  }

  @Test
  void refusesOtherJwtTypes() throws Exception {
    String plainJwt = sign(rsa1, JWSAlgorithm.RS256, claims().build(), h -> h.type(JOSEObjectType.JWT));
    assertEquals(Refusal.TYPE, refusal(verifier(), plainJwt));
  }

  @Test
  void refusesBadClaims() throws Exception {
    AssertionVerifier v = verifier();
    assertEquals(Refusal.CLAIMS, refusal(v, sign(rsa1, JWSAlgorithm.RS256, claims().subject(null).build())));
    assertEquals(Refusal.CLAIMS, refusal(v, sign(rsa1, JWSAlgorithm.RS256, claims().subject("*").build())));
    assertEquals(Refusal.CLAIMS, refusal(v, sign(rsa1, JWSAlgorithm.RS256, claims().subject("x".repeat(65)).build())));
    assertEquals(Refusal.CLAIMS, refusal(v, sign(rsa1, JWSAlgorithm.RS256, claims().claim("groups", null).build())));
    assertEquals(Refusal.CLAIMS, refusal(v, sign(rsa1, JWSAlgorithm.RS256, claims().claim("tenants", "tenantA").build())));
    assertEquals(Refusal.CLAIMS, refusal(v, sign(rsa1, JWSAlgorithm.RS256, claims().claim("tenants", List.of(1)).build())));
    assertEquals(Refusal.CLAIMS, refusal(v, sign(rsa1, JWSAlgorithm.RS256, claims().jwtID(null).build())));
  }

  @Test
  void refusesOversizedBeforeParsing() throws Exception {
    AssertionVerifier v = new AssertionVerifier(config().maxTokenBytes(1024).build());
    String big = sign(rsa1, JWSAlgorithm.RS256, claims().claim("pad", "x".repeat(2000)).build());
    assertEquals(Refusal.OVERSIZED, refusal(v, big));
    // Garbage of that size is refused the same way, without a parse error.
    assertEquals(Refusal.OVERSIZED, refusal(v, "%".repeat(5000)));
    assertEquals(Refusal.MALFORMED, refusal(v, "not.a-jwt"));
    assertEquals(Refusal.MALFORMED, refusal(v, "e30.e30.e30"));
  }

  @Test
  void rotationRefetchesOnUnknownKid() throws Exception {
    AssertionVerifier v = verifier();
    assertEquals("alice", v.verify(sign(rsa1, JWSAlgorithm.RS256, claims().build())).userId());
    assertEquals(1, fetches.get());
    // Same kid again: served from the cache.
    v.verify(sign(rsa1, JWSAlgorithm.RS256, claims().build()));
    assertEquals(1, fetches.get());
    // The gateway publishes k2 next to k1, then signs with k2.
    publish(rsa1, rsa2);
    Thread.sleep(2100); // past the 2 s minimum refetch interval configured above
    assertEquals("alice", v.verify(sign(rsa2, JWSAlgorithm.RS256, claims().build())).userId());
    assertEquals(2, fetches.get());
    // k1 is still accepted while both are published.
    assertEquals("alice", v.verify(sign(rsa1, JWSAlgorithm.RS256, claims().build())).userId());
  }

  @Test
  void unknownKidRefetchesAreRateLimited() throws Exception {
    AssertionVerifier v = new AssertionVerifier(config().jwksRefreshMinIntervalSeconds(60).build());
    v.verify(sign(rsa1, JWSAlgorithm.RS256, claims().build()));
    int before = fetches.get();
    for (int i = 0; i < 25; i++) {
      RSAKey junk = rsa2; // unpublished kid k2
      assertEquals(Refusal.UNKNOWN_KEY, refusal(v, sign(junk, JWSAlgorithm.RS256, claims().build())));
    }
    // Nimbus allows at most two retrievals per interval; 25 unknown kids must not mean 25 fetches.
    assertTrue(fetches.get() - before <= 2, "fetches after unknown kids: " + (fetches.get() - before));
  }

  @Test
  void unreachableJwksFailsClosed() throws Exception {
    server.stop(0);
    assertEquals(Refusal.KEYS_UNAVAILABLE, refusal(verifier(), sign(rsa1, JWSAlgorithm.RS256, claims().build())));
  }

  @Test
  void jwksMayNotPublishPrivateOrSymmetricKeys() throws Exception {
    // A JWKS carrying an "oct" key with our kid must not turn HS256 on.
    jwks.set("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"" + Base64URL.encode(new byte[32]) + "\"}]}");
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).type(new JOSEObjectType(VerifierConfig.ASSERTION_TYPE)).keyID("k1").build(),
            claims().build());
    jwt.sign(new MACSigner(new byte[32]));
    assertEquals(Refusal.ALGORITHM, refusal(verifier(), jwt.serialize()));
    assertEquals(Refusal.UNKNOWN_KEY, refusal(verifier(), sign(rsa1, JWSAlgorithm.RS256, claims().build())));
  }

  static String pem(JWK key) throws Exception {
    byte[] der = key instanceof RSAKey r ? r.toRSAPublicKey().getEncoded() : ((ECKey) key).toECPublicKey().getEncoded();
    return "-----BEGIN PUBLIC KEY-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END PUBLIC KEY-----\n";
  }

  @Test
  void pemModeWithTwoKeysDuringRotation() throws Exception {
    AssertionVerifier v =
        new AssertionVerifier(VerifierConfig.builder().issuer(ISS).audience(AUD).publicKeyPem(pem(rsa1) + pem(ec)).build());
    assertEquals("alice", v.verify(sign(rsa1, JWSAlgorithm.RS256, claims().build())).userId());
    assertEquals("alice", v.verify(sign(ec, JWSAlgorithm.ES256, claims().build())).userId());
    assertEquals(Refusal.BAD_SIGNATURE, refusal(v, sign(rsa2, JWSAlgorithm.RS256, claims().build())));
    assertEquals(0, fetches.get());
  }

  @Test
  void pemModeRefusesPrivateKeysAndShortRsa() throws Exception {
    assertThrows(
        PluginConfigException.class,
        () -> new AssertionVerifier(VerifierConfig.builder().issuer(ISS).audience(AUD).publicKeyPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").build()));
    RSAKey small = new RSAKeyGenerator(1024, true).generate();
    assertThrows(
        PluginConfigException.class,
        () -> new AssertionVerifier(VerifierConfig.builder().issuer(ISS).audience(AUD).publicKeyPem(pem(small)).build()));
  }

  @Test
  void configurationFailsClosed() {
    Map<String, String> env = new HashMap<>();
    assertThrows(PluginConfigException.class, () -> VerifierConfig.load(k -> null, k -> null, env));
    env.put("C7AUTH_PLUGIN_ISSUER", ISS);
    env.put("C7AUTH_PLUGIN_AUDIENCE", AUD);
    assertThrows(PluginConfigException.class, () -> VerifierConfig.load(k -> null, k -> null, env));
    env.put("C7AUTH_PLUGIN_JWKS_URL", "http://gateway.example/.well-known/jwks.json");
    PluginConfigException e = assertThrows(PluginConfigException.class, () -> VerifierConfig.load(k -> null, k -> null, env));
    assertTrue(e.getMessage().contains("https"));
    env.put("C7AUTH_PLUGIN_JWKS_ALLOW_HTTP", "true");
    assertEquals(ISS, VerifierConfig.load(k -> null, k -> null, env).issuer());
    env.put("C7AUTH_PLUGIN_ALGORITHMS", "RS256,HS256");
    assertThrows(PluginConfigException.class, () -> VerifierConfig.load(k -> null, k -> null, env));
    env.remove("C7AUTH_PLUGIN_ALGORITHMS");
    // init-param beats system property beats environment.
    Map<String, String> params = Map.of("audience", "from-param");
    Map<String, String> props = Map.of("c7auth.plugin.audience", "from-prop", "c7auth.plugin.issuer", "iss-prop");
    VerifierConfig c = VerifierConfig.load(params::get, props::get, env);
    assertEquals("from-param", c.audience());
    assertEquals("iss-prop", c.issuer());
  }

  @Test
  void unconfiguredAuthenticatorRefusesEverything() throws Exception {
    AssertionAuthenticator a = AssertionAuthenticator.fromSettings(k -> null, k -> null, Map.of());
    assertFalse(a.configured());
    String token = sign(rsa1, JWSAlgorithm.RS256, claims().build());
    assertEquals(Refusal.NOT_CONFIGURED, a.authenticate(List.of("Bearer " + token)).refusal());
  }

  @Test
  void authenticatorParsesTheHeaderStrictly() throws Exception {
    AssertionAuthenticator a = AssertionAuthenticator.of(verifier());
    String token = sign(rsa1, JWSAlgorithm.RS256, claims().build());
    AssertionAuthenticator.Outcome ok = a.authenticate(List.of("bearer " + token));
    assertNull(ok.refusal());
    assertEquals("alice", ok.assertion().userId());
    assertEquals(Refusal.MISSING, a.authenticate(List.of()).refusal());
    assertEquals(Refusal.MISSING, a.authenticate(List.of("Basic YWxpY2U6eA==")).refusal());
    assertEquals(Refusal.MISSING, a.authenticate(List.of("Bearer " + token, "Bearer " + token)).refusal());
    assertEquals(Refusal.OVERSIZED, a.authenticate(List.of("Bearer " + "a".repeat(20_000))).refusal());
    byte[] junk = new byte[64];
    new SecureRandom().nextBytes(junk);
    assertEquals(Refusal.MALFORMED, a.authenticate(List.of("Bearer " + Base64.getEncoder().encodeToString(junk))).refusal());
  }

  @Test
  void basicFallbackIsOffByDefaultAndOnlyForBasic() throws Exception {
    Map<String, String> env =
        new HashMap<>(Map.of("C7AUTH_PLUGIN_ISSUER", ISS, "C7AUTH_PLUGIN_AUDIENCE", AUD, "C7AUTH_PLUGIN_JWKS_URL", jwksUrl));
    AssertionAuthenticator strict = AssertionAuthenticator.fromSettings(k -> null, k -> null, env);
    assertFalse(strict.isBasicFallback(List.of("Basic YWRtaW46eA==")));
    assertEquals(Refusal.MISSING, strict.authenticate(List.of("Basic YWRtaW46eA==")).refusal());
    env.put("C7AUTH_PLUGIN_BASIC_FALLBACK", "true");
    AssertionAuthenticator lenient = AssertionAuthenticator.fromSettings(k -> null, k -> null, env);
    assertTrue(lenient.isBasicFallback(List.of("basic YWRtaW46eA==")));
    assertFalse(lenient.isBasicFallback(List.of("Bearer x.y.z")));
    assertFalse(lenient.isBasicFallback(List.of("Basic a", "Basic b")));
    env.put("C7AUTH_PLUGIN_BASIC_FALLBACK", "yes");
    assertFalse(AssertionAuthenticator.fromSettings(k -> null, k -> null, env).configured());
  }

  @Test
  void errorBodyIsCamundaShapedWithoutDetails() {
    for (Refusal r : Refusal.values()) {
      String body = AssertionAuthenticator.errorBody(r);
      assertTrue(body.matches("\\{\"type\":\"AuthenticationException\",\"message\":\"[^\"\\\\]+\",\"code\":\"C7AUTH_[A-Z_]+\"}"), body);
      assertTrue(AssertionAuthenticator.challenge(r).startsWith(r == Refusal.BASIC_REFUSED ? "Basic realm=" : "Bearer realm="));
    }
  }
}
