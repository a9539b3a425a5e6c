package dev.c7auth.engine.core;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * The verifier's settings. Build one with {@link #builder()} (tests, programmatic setup) or
 * {@link #load(Function, Function, Map)} from filter init-params, system properties and environment.
 *
 * <p>Every setting has three names, looked up in this order: the filter init-param ({@code jwks-url}),
 * the system property ({@code c7auth.plugin.jwks-url}) and the environment variable
 * ({@code C7AUTH_PLUGIN_JWKS_URL}). See {@link Setting}.
 */
public final class VerifierConfig {
  /** The JWS {@code typ} the gateway puts on every assertion, so no other JWT can be replayed as one. */
  public static final String ASSERTION_TYPE = "c7auth-assertion+jwt";

  /** Asymmetric algorithms the plugin can verify. HMAC and none are never accepted. */
  public static final Set<String> SUPPORTED_ALGORITHMS = Set.of("RS256", "PS256", "ES256");

  /** Hard ceiling for {@code exp - iat}: the gateway's assertions live 60 s. */
  public static final int MAX_LIFETIME_CEILING_SECONDS = 60;

  /** The settings and their names. */
  public enum Setting {
    ISSUER("issuer"),
    AUDIENCE("audience"),
    JWKS_URL("jwks-url"),
    PUBLIC_KEY("public-key"),
    PUBLIC_KEY_FILE("public-key-file"),
    ALGORITHMS("algorithms"),
    CLOCK_SKEW_SECONDS("clock-skew-seconds"),
    MAX_LIFETIME_SECONDS("max-lifetime-seconds"),
    MAX_TOKEN_BYTES("max-token-bytes"),
    JWKS_CACHE_SECONDS("jwks-cache-seconds"),
    JWKS_REFRESH_MIN_INTERVAL_SECONDS("jwks-refresh-min-interval-seconds"),
    JWKS_TIMEOUT_MS("jwks-timeout-ms"),
    JWKS_ALLOW_HTTP("jwks-allow-http"),
    USER_CLAIM("user-claim"),
    GROUPS_CLAIM("groups-claim"),
    TENANTS_CLAIM("tenants-claim"),
    BASIC_FALLBACK("basic-fallback");

    private final String param;

    Setting(String param) {
      this.param = param;
    }

    /** Filter init-param name, e.g. {@code jwks-url}. */
    public String initParam() {
      return param;
    }

    /** System property name, e.g. {@code c7auth.plugin.jwks-url}. */
    public String systemProperty() {
      return "c7auth.plugin." + param;
    }

    /** Environment variable name, e.g. {@code C7AUTH_PLUGIN_JWKS_URL}. */
    public String envName() {
      return "C7AUTH_PLUGIN_" + name();
    }
  }

  final String issuer;
  final String audience;
  final URL jwksUrl;
  final String publicKeyPem;
  final Set<String> algorithms;
  final int clockSkewSeconds;
  final int maxLifetimeSeconds;
  final int maxTokenBytes;
  final int jwksCacheSeconds;
  final int jwksRefreshMinIntervalSeconds;
  final int jwksTimeoutMs;
  final String userClaim;
  final String groupsClaim;
  final String tenantsClaim;
  final boolean basicFallback;

  private VerifierConfig(Builder b) {
    List<String> problems = new ArrayList<>();
    if (blank(b.issuer)) problems.add(Setting.ISSUER.envName() + " is required");
    if (blank(b.audience)) problems.add(Setting.AUDIENCE.envName() + " is required");
    if (blank(b.jwksUrl) == blank(b.publicKeyPem)) {
      problems.add(
          "exactly one of "
              + Setting.JWKS_URL.envName()
              + " and "
              + Setting.PUBLIC_KEY.envName()
              + " (or "
              + Setting.PUBLIC_KEY_FILE.envName()
              + ") is required");
    }
    URL url = null;
    if (!blank(b.jwksUrl)) {
      try {
        URI uri = new URI(b.jwksUrl.trim());
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        boolean loopback = isLoopback(uri.getHost());
        if (!scheme.equals("https") && !(scheme.equals("http") && (loopback || b.jwksAllowHttp))) {
          problems.add(
              Setting.JWKS_URL.envName()
                  + " must be https (http only for loopback or with "
                  + Setting.JWKS_ALLOW_HTTP.envName()
                  + "=true)");
        } else {
          url = uri.toURL();
        }
      } catch (URISyntaxException | IllegalArgumentException | IOException e) {
        problems.add(Setting.JWKS_URL.envName() + " is not a valid URL");
      }
    }
    Set<String> algs = new LinkedHashSet<>();
    for (String a : b.algorithms) {
      String alg = a.trim();
      if (alg.isEmpty()) continue;
      if (!SUPPORTED_ALGORITHMS.contains(alg)) {
        problems.add(Setting.ALGORITHMS.envName() + ": " + alg + " is not one of " + SUPPORTED_ALGORITHMS);
      }
      algs.add(alg);
    }
    if (algs.isEmpty()) problems.add(Setting.ALGORITHMS.envName() + " is empty");
    range(problems, Setting.CLOCK_SKEW_SECONDS, b.clockSkewSeconds, 0, 60);
    range(problems, Setting.MAX_LIFETIME_SECONDS, b.maxLifetimeSeconds, 1, MAX_LIFETIME_CEILING_SECONDS);
    range(problems, Setting.MAX_TOKEN_BYTES, b.maxTokenBytes, 512, 65_536);
    range(problems, Setting.JWKS_CACHE_SECONDS, b.jwksCacheSeconds, 10, 86_400);
    range(problems, Setting.JWKS_REFRESH_MIN_INTERVAL_SECONDS, b.jwksRefreshMinIntervalSeconds, 1, 3_600);
    range(problems, Setting.JWKS_TIMEOUT_MS, b.jwksTimeoutMs, 100, 60_000);
    for (Setting s : List.of(Setting.USER_CLAIM, Setting.GROUPS_CLAIM, Setting.TENANTS_CLAIM)) {
      String v = s == Setting.USER_CLAIM ? b.userClaim : s == Setting.GROUPS_CLAIM ? b.groupsClaim : b.tenantsClaim;
      if (blank(v)) problems.add(s.envName() + " must not be empty");
    }
    if (!problems.isEmpty()) {
      throw new PluginConfigException("c7auth engine plugin: " + String.join("; ", problems));
    }
    this.issuer = b.issuer.trim();
    this.audience = b.audience.trim();
    this.jwksUrl = url;
    this.publicKeyPem = blank(b.publicKeyPem) ? null : b.publicKeyPem;
    this.algorithms = Set.copyOf(algs);
    this.clockSkewSeconds = b.clockSkewSeconds;
    this.maxLifetimeSeconds = b.maxLifetimeSeconds;
    this.maxTokenBytes = b.maxTokenBytes;
    this.jwksCacheSeconds = b.jwksCacheSeconds;
    this.jwksRefreshMinIntervalSeconds = b.jwksRefreshMinIntervalSeconds;
    this.jwksTimeoutMs = b.jwksTimeoutMs;
    this.userClaim = b.userClaim;
    this.groupsClaim = b.groupsClaim;
    this.tenantsClaim = b.tenantsClaim;
    this.basicFallback = b.basicFallback;
  }

  /**
   * True when {@code Authorization: Basic} requests go to the engine's own HTTP Basic provider
   * (engine users with passwords, e.g. the gateway's admin account for its bootstrap). Bearer
   * requests are always assertions. Default false.
   */
  public boolean basicFallback() {
    return basicFallback;
  }

  public String issuer() {
    return issuer;
  }

  public String audience() {
    return audience;
  }

  public int maxTokenBytes() {
    return maxTokenBytes;
  }

  private static boolean isLoopback(String host) {
    if (host == null) return false;
    String h = host.toLowerCase(Locale.ROOT);
    return h.equals("localhost") || h.equals("127.0.0.1") || h.equals("[::1]") || h.equals("::1");
  }

  private static void range(List<String> problems, Setting s, int v, int min, int max) {
    if (v < min || v > max) problems.add(s.envName() + " must be between " + min + " and " + max);
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Reads the settings from init-params, then system properties, then the environment (first
   * non-blank wins). {@code PUBLIC_KEY_FILE} is read here, once.
   *
   * @param initParams filter init-params by name (return null when absent); may be {@code k -> null}
   * @param systemProperties usually {@code System::getProperty}
   * @param env usually {@code System.getenv()}
   * @throws PluginConfigException when a setting is missing or invalid
   */
  public static VerifierConfig load(
      Function<String, String> initParams,
      Function<String, String> systemProperties,
      Map<String, String> env) {
    Function<Setting, String> get =
        s -> {
          for (String v :
              new String[] {
                initParams.apply(s.initParam()),
                systemProperties.apply(s.systemProperty()),
                env.get(s.envName())
              }) {
            if (v != null && !v.isBlank()) return v;
          }
          return null;
        };
    Builder b = builder();
    b.issuer(get.apply(Setting.ISSUER)).audience(get.apply(Setting.AUDIENCE)).jwksUrl(get.apply(Setting.JWKS_URL));
    String pem = get.apply(Setting.PUBLIC_KEY);
    String pemFile = get.apply(Setting.PUBLIC_KEY_FILE);
    if (pem != null && pemFile != null) {
      throw new PluginConfigException(
          "c7auth engine plugin: set only one of "
              + Setting.PUBLIC_KEY.envName()
              + " and "
              + Setting.PUBLIC_KEY_FILE.envName());
    }
    if (pemFile != null) {
      try {
        pem = Files.readString(Path.of(pemFile.trim()), StandardCharsets.UTF_8);
      } catch (IOException | RuntimeException e) {
        throw new PluginConfigException(
            "c7auth engine plugin: " + Setting.PUBLIC_KEY_FILE.envName() + " cannot be read", e);
      }
    }
    b.publicKeyPem(pem);
    String algs = get.apply(Setting.ALGORITHMS);
    if (algs != null) b.algorithms(List.of(algs.split(",")));
    b.clockSkewSeconds(intOf(Setting.CLOCK_SKEW_SECONDS, get.apply(Setting.CLOCK_SKEW_SECONDS), b.clockSkewSeconds));
    b.maxLifetimeSeconds(intOf(Setting.MAX_LIFETIME_SECONDS, get.apply(Setting.MAX_LIFETIME_SECONDS), b.maxLifetimeSeconds));
    b.maxTokenBytes(intOf(Setting.MAX_TOKEN_BYTES, get.apply(Setting.MAX_TOKEN_BYTES), b.maxTokenBytes));
    b.jwksCacheSeconds(intOf(Setting.JWKS_CACHE_SECONDS, get.apply(Setting.JWKS_CACHE_SECONDS), b.jwksCacheSeconds));
    b.jwksRefreshMinIntervalSeconds(
        intOf(
            Setting.JWKS_REFRESH_MIN_INTERVAL_SECONDS,
            get.apply(Setting.JWKS_REFRESH_MIN_INTERVAL_SECONDS),
            b.jwksRefreshMinIntervalSeconds));
    b.jwksTimeoutMs(intOf(Setting.JWKS_TIMEOUT_MS, get.apply(Setting.JWKS_TIMEOUT_MS), b.jwksTimeoutMs));
    Boolean allowHttp = boolOf(Setting.JWKS_ALLOW_HTTP, get.apply(Setting.JWKS_ALLOW_HTTP));
    if (allowHttp != null) b.jwksAllowHttp(allowHttp);
    Boolean basic = boolOf(Setting.BASIC_FALLBACK, get.apply(Setting.BASIC_FALLBACK));
    if (basic != null) b.basicFallback(basic);
    String user = get.apply(Setting.USER_CLAIM);
    if (user != null) b.userClaim(user.trim());
    String groups = get.apply(Setting.GROUPS_CLAIM);
    if (groups != null) b.groupsClaim(groups.trim());
    String tenants = get.apply(Setting.TENANTS_CLAIM);
    if (tenants != null) b.tenantsClaim(tenants.trim());
    return b.build();
  }

  private static Boolean boolOf(Setting s, String value) {
    if (value == null) return null;
    String v = value.trim().toLowerCase(Locale.ROOT);
    if (!v.equals("true") && !v.equals("false")) {
      throw new PluginConfigException("c7auth engine plugin: " + s.envName() + " must be true or false");
    }
    return v.equals("true");
  }

  private static int intOf(Setting s, String v, int fallback) {
    if (v == null) return fallback;
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new PluginConfigException("c7auth engine plugin: " + s.envName() + " must be an integer");
    }
  }

  /** Builder with the documented defaults. */
  public static final class Builder {
    private String issuer;
    private String audience;
    private String jwksUrl;
    private String publicKeyPem;
    private List<String> algorithms = List.of("RS256", "PS256", "ES256");
    private int clockSkewSeconds = 5;
    private int maxLifetimeSeconds = MAX_LIFETIME_CEILING_SECONDS;
    private int maxTokenBytes = 8_192;
    private int jwksCacheSeconds = 300;
    private int jwksRefreshMinIntervalSeconds = 10;
    private int jwksTimeoutMs = 2_000;
    private boolean jwksAllowHttp;
    private String userClaim = "sub";
    private String groupsClaim = "groups";
    private String tenantsClaim = "tenants";
    private boolean basicFallback;

    private Builder() {}

    public Builder issuer(String v) {
      issuer = v;
      return this;
    }

    public Builder audience(String v) {
      audience = v;
      return this;
    }

    public Builder jwksUrl(String v) {
      jwksUrl = v;
      return this;
    }

    /** One or more PEM {@code PUBLIC KEY} blocks (two during a key rotation). */
    public Builder publicKeyPem(String v) {
      publicKeyPem = v;
      return this;
    }

    public Builder algorithms(List<String> v) {
      algorithms = List.copyOf(v);
      return this;
    }

    public Builder clockSkewSeconds(int v) {
      clockSkewSeconds = v;
      return this;
    }

    public Builder maxLifetimeSeconds(int v) {
      maxLifetimeSeconds = v;
      return this;
    }

    public Builder maxTokenBytes(int v) {
      maxTokenBytes = v;
      return this;
    }

    public Builder jwksCacheSeconds(int v) {
      jwksCacheSeconds = v;
      return this;
    }

    public Builder jwksRefreshMinIntervalSeconds(int v) {
      jwksRefreshMinIntervalSeconds = v;
      return this;
    }

    public Builder jwksTimeoutMs(int v) {
      jwksTimeoutMs = v;
      return this;
    }

    public Builder jwksAllowHttp(boolean v) {
      jwksAllowHttp = v;
      return this;
    }

    public Builder userClaim(String v) {
      userClaim = v;
      return this;
    }

    public Builder groupsClaim(String v) {
      groupsClaim = v;
      return this;
    }

    public Builder tenantsClaim(String v) {
      tenantsClaim = v;
      return this;
    }

    public Builder basicFallback(boolean v) {
      basicFallback = v;
      return this;
    }

    /** @throws PluginConfigException when a setting is missing or invalid */
    public VerifierConfig build() {
      return new VerifierConfig(this);
    }
  }
}
