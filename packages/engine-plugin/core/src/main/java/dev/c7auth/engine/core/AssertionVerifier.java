package dev.c7auth.engine.core;

import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKMatcher;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyType;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.jwk.source.RateLimitReachedException;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.DefaultResourceRetriever;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.text.ParseException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Verifies one gateway assertion: a compact JWS with an asymmetric algorithm from the configured
 * list, {@code typ} {@value VerifierConfig#ASSERTION_TYPE}, signed by a key from the gateway's JWKS
 * (cached, refetched on an unknown {@code kid} at most once per configured interval) or from a
 * configured PEM, issued by the gateway for exactly this engine, living at most 60 s.
 *
 * <p>Thread-safe; create one per engine and reuse it.
 */
public final class AssertionVerifier {
  /** engine ids are varchar(64) in every identity table; anything longer cannot be a real id. */
  static final int MAX_ID_LENGTH = 64;

  static final int MAX_LIST_SIZE = 256;

  private static final Pattern COMPACT_JWS = Pattern.compile("[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+");

  private final VerifierConfig config;
  private final JWKSource<SecurityContext> remoteKeys;
  private final List<JWK> pemKeys;
  private final Clock clock;
  private final DefaultJWSVerifierFactory verifierFactory = new DefaultJWSVerifierFactory();

  public AssertionVerifier(VerifierConfig config) {
    this(config, Clock.systemUTC());
  }

  /** @param clock the time source (tests move it) */
  public AssertionVerifier(VerifierConfig config, Clock clock) {
    this.config = config;
    this.clock = clock;
    if (config.jwksUrl != null) {
      DefaultResourceRetriever retriever =
          new DefaultResourceRetriever(config.jwksTimeoutMs, config.jwksTimeoutMs, 256 * 1024);
      long ttlMs = config.jwksCacheSeconds * 1000L;
      this.remoteKeys =
          JWKSourceBuilder.create(config.jwksUrl, retriever)
              .cache(ttlMs, config.jwksTimeoutMs)
              .rateLimited(config.jwksRefreshMinIntervalSeconds * 1000L)
              .retrying(false)
              .refreshAheadCache(false)
              .outageTolerant(false)
              .build();
      this.pemKeys = List.of();
    } else {
      this.remoteKeys = null;
      this.pemKeys = parsePem(config.publicKeyPem);
    }
  }

  /** The accepted PEM blocks as public JWKs; private keys and certificates are refused. */
  private static List<JWK> parsePem(String pem) {
    List<JWK> keys = new ArrayList<>();
    String[] blocks = pem.split("(?=-----BEGIN )");
    for (String block : blocks) {
      if (block.isBlank()) continue;
      if (!block.contains("-----BEGIN PUBLIC KEY-----")) {
        throw new PluginConfigException(
            "c7auth engine plugin: "
                + VerifierConfig.Setting.PUBLIC_KEY.envName()
                + " must hold only PEM 'PUBLIC KEY' blocks");
      }
      JWK jwk = publicKeyFromPem(block);
      if (jwk instanceof RSAKey rsa) {
        if (rsa.size() < 2048) throw new PluginConfigException("c7auth engine plugin: RSA keys need >= 2048 bits");
      } else if (!(jwk instanceof ECKey ec) || !Curve.P_256.equals(ec.getCurve())) {
        throw new PluginConfigException("c7auth engine plugin: only RSA and EC P-256 public keys are supported");
      }
      keys.add(jwk);
    }
    if (keys.isEmpty()) {
      throw new PluginConfigException(
          "c7auth engine plugin: " + VerifierConfig.Setting.PUBLIC_KEY.envName() + " holds no key");
    }
    return List.copyOf(keys);
  }

  /** SubjectPublicKeyInfo DER via the JDK's key factories (Nimbus' PEM parser needs BouncyCastle). */
  private static JWK publicKeyFromPem(String block) {
    String b64 =
        block.replace("-----BEGIN PUBLIC KEY-----", "").replaceAll("-----END PUBLIC KEY-----[\\s\\S]*", "").replaceAll("\\s", "");
    byte[] der;
    try {
      der = Base64.getDecoder().decode(b64);
    } catch (IllegalArgumentException e) {
      throw new PluginConfigException("c7auth engine plugin: " + VerifierConfig.Setting.PUBLIC_KEY.envName() + " is not valid PEM", e);
    }
    X509EncodedKeySpec spec = new X509EncodedKeySpec(der);
    try {
      PublicKey k = KeyFactory.getInstance("RSA").generatePublic(spec);
      return new RSAKey.Builder((RSAPublicKey) k).build();
    } catch (GeneralSecurityException e) {
      // not RSA; try EC below
    }
    try {
      ECPublicKey k = (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(spec);
      Curve curve = Curve.forECParameterSpec(k.getParams());
      if (curve == null) throw new PluginConfigException("c7auth engine plugin: unsupported EC curve");
      return new ECKey.Builder(curve, k).build();
    } catch (GeneralSecurityException e) {
      throw new PluginConfigException(
          "c7auth engine plugin: " + VerifierConfig.Setting.PUBLIC_KEY.envName() + " is not an RSA or EC public key", e);
    }
  }

  public VerifierConfig config() {
    return config;
  }

  /**
   * Verifies a compact JWS.
   *
   * @return the identity it carries
   * @throws AssertionRefusedException with the reason; never any other exception for bad input
   */
  public VerifiedAssertion verify(String token) throws AssertionRefusedException {
    if (token == null || token.isEmpty()) throw new AssertionRefusedException(Refusal.MISSING);
    // Size first: nothing is decoded or parsed from an oversized token.
    if (token.length() > config.maxTokenBytes) throw new AssertionRefusedException(Refusal.OVERSIZED);
    if (!COMPACT_JWS.matcher(token).matches()) {
      // `alg: none` tokens have an empty third segment; tell them apart from garbage.
      throw new AssertionRefusedException(looksUnsecured(token) ? Refusal.ALGORITHM : Refusal.MALFORMED);
    }
    int dot = token.indexOf('.');
    Header generic;
    try {
      generic = Header.parse(new Base64URL(token.substring(0, dot)));
    } catch (ParseException | RuntimeException e) {
      throw new AssertionRefusedException(Refusal.MALFORMED, e);
    }
    if (!(generic instanceof JWSHeader)) throw new AssertionRefusedException(Refusal.ALGORITHM);
    JWSHeader header = (JWSHeader) generic;
    JWSAlgorithm alg = header.getAlgorithm();
    if (alg == null || !config.algorithms.contains(alg.getName())) {
      throw new AssertionRefusedException(Refusal.ALGORITHM);
    }
    if (!new JOSEObjectType(VerifierConfig.ASSERTION_TYPE).equals(header.getType())) {
      throw new AssertionRefusedException(Refusal.TYPE);
    }
    SignedJWT jwt;
    try {
      jwt = SignedJWT.parse(token);
    } catch (ParseException | RuntimeException e) {
      throw new AssertionRefusedException(Refusal.MALFORMED, e);
    }

    List<JWK> candidates = keysFor(header);
    if (candidates.isEmpty()) throw new AssertionRefusedException(Refusal.UNKNOWN_KEY);
    boolean verified = false;
    for (JWK jwk : candidates) {
      try {
        Key key = jwk instanceof RSAKey rsa ? rsa.toRSAPublicKey() : ((ECKey) jwk).toECPublicKey();
        JWSVerifier verifier = verifierFactory.createJWSVerifier(header, key);
        if (jwt.verify(verifier)) {
          verified = true;
          break;
        }
      } catch (JOSEException | ClassCastException | IllegalStateException e) {
        // A key of the wrong shape for this algorithm, or a critical header we do not understand.
      }
    }
    if (!verified) throw new AssertionRefusedException(Refusal.BAD_SIGNATURE);

    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new AssertionRefusedException(Refusal.MALFORMED, e);
    }
    return checkClaims(claims);
  }

  private static boolean looksUnsecured(String token) {
    int dot = token.indexOf('.');
    if (dot <= 0) return false;
    try {
      return !(Header.parse(new Base64URL(token.substring(0, dot))) instanceof JWSHeader);
    } catch (ParseException | RuntimeException e) {
      return false;
    }
  }

  private List<JWK> keysFor(JWSHeader header) throws AssertionRefusedException {
    if (remoteKeys == null) {
      List<JWK> out = new ArrayList<>();
      for (JWK k : pemKeys) if (compatible(k, header.getAlgorithm())) out.add(k);
      return out;
    }
    try {
      List<JWK> found = remoteKeys.get(new JWKSelector(JWKMatcher.forJWSHeader(header)), null);
      List<JWK> out = new ArrayList<>();
      for (JWK k : found) if (!k.isPrivate() && compatible(k, header.getAlgorithm())) out.add(k);
      return out;
    } catch (RateLimitReachedException e) {
      // An unknown kid asked for a refetch too soon after the last one: treat as unknown.
      throw new AssertionRefusedException(Refusal.UNKNOWN_KEY, e);
    } catch (KeySourceException e) {
      throw new AssertionRefusedException(Refusal.KEYS_UNAVAILABLE, e);
    }
  }

  private static boolean compatible(JWK key, JWSAlgorithm alg) {
    if (JWSAlgorithm.Family.RSA.contains(alg)) {
      return KeyType.RSA.equals(key.getKeyType()) && ((RSAKey) key).size() >= 2048;
    }
    if (JWSAlgorithm.ES256.equals(alg)) {
      return KeyType.EC.equals(key.getKeyType()) && Curve.P_256.equals(((ECKey) key).getCurve());
    }
    return false;
  }

  private VerifiedAssertion checkClaims(JWTClaimsSet claims) throws AssertionRefusedException {
    if (!config.issuer.equals(claims.getIssuer())) throw new AssertionRefusedException(Refusal.ISSUER);
    List<String> aud = claims.getAudience();
    if (aud == null || aud.size() != 1 || !config.audience.equals(aud.get(0))) {
      throw new AssertionRefusedException(Refusal.AUDIENCE);
    }
    Date exp = claims.getExpirationTime();
    Date iat = claims.getIssueTime();
    if (exp == null || iat == null) throw new AssertionRefusedException(Refusal.CLAIMS);
    long now = clock.millis();
    long skew = config.clockSkewSeconds * 1000L;
    if (exp.getTime() + skew < now) throw new AssertionRefusedException(Refusal.EXPIRED);
    if (iat.getTime() - skew > now) throw new AssertionRefusedException(Refusal.LIFETIME);
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && nbf.getTime() - skew > now) throw new AssertionRefusedException(Refusal.LIFETIME);
    long lifetime = exp.getTime() - iat.getTime();
    if (lifetime <= 0 || lifetime > config.maxLifetimeSeconds * 1000L) {
      throw new AssertionRefusedException(Refusal.LIFETIME);
    }
    String jti = claims.getJWTID();
    if (jti == null || jti.isEmpty() || jti.length() > 256) throw new AssertionRefusedException(Refusal.CLAIMS);
    Object user = claims.getClaim(config.userClaim);
    if (!(user instanceof String userId) || !validId(userId)) throw new AssertionRefusedException(Refusal.CLAIMS);
    return new VerifiedAssertion(
        userId, idList(claims.getClaim(config.groupsClaim)), idList(claims.getClaim(config.tenantsClaim)), jti);
  }

  /** Rejects what the engine could misread: empty, too long, the wildcard, control characters. */
  private static boolean validId(String id) {
    if (id.isEmpty() || id.length() > MAX_ID_LENGTH || id.equals("*")) return false;
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c < 0x21 || c == 0x7f) return false;
    }
    return true;
  }

  private static List<String> idList(Object value) throws AssertionRefusedException {
    // Required (may be empty): a null list would make the engine query its identity service.
    if (!(value instanceof List<?> list) || list.size() > MAX_LIST_SIZE) {
      throw new AssertionRefusedException(Refusal.CLAIMS);
    }
    List<String> out = new ArrayList<>(list.size());
    for (Object o : list) {
      if (!(o instanceof String s) || !validId(s)) throw new AssertionRefusedException(Refusal.CLAIMS);
      if (!out.contains(s)) out.add(s);
    }
    return out;
  }

  /** For tests: a JWKS document as the gateway serves it. */
  static String jwksJson(List<JWK> keys) {
    return new JWKSet(keys).toString(true);
  }
}
