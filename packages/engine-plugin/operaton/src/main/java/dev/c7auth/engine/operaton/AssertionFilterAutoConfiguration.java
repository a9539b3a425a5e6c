package dev.c7auth.engine.operaton;

import dev.c7auth.engine.core.VerifierConfig;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * Registers {@link AssertionAuthenticationFilter} on engine-rest in a Spring Boot application,
 * including the Run distribution (which only knows HTTP Basic and has no other hook for a REST
 * authentication provider). Off unless {@code c7auth.plugin.filter.enabled=true} (environment
 * {@code C7AUTH_PLUGIN_FILTER_ENABLED=true}); keep Run's own {@code auth.enabled} false then.
 *
 * <p>Every plugin setting may come from the Spring environment as {@code c7auth.plugin.<name>}
 * (e.g. {@code c7auth.plugin.jwks-url} in Run's {@code configuration/default.yml}); they are
 * passed on as the filter's init-params.
 */
@AutoConfiguration
@ConditionalOnClass(name = "org.operaton.bpm.engine.rest.security.auth.ProcessEngineAuthenticationFilter")
@ConditionalOnProperty(prefix = "c7auth.plugin.filter", name = "enabled", havingValue = "true")
public class AssertionFilterAutoConfiguration {
  /** Where the filter goes unless {@code c7auth.plugin.filter.url-pattern} says otherwise. */
  public static final String DEFAULT_URL_PATTERN = "/engine-rest/*";

  @Bean
  public FilterRegistrationBean<AssertionAuthenticationFilter> c7authAssertionAuthenticationFilter(
      Environment environment) {
    FilterRegistrationBean<AssertionAuthenticationFilter> registration =
        new FilterRegistrationBean<>(new AssertionAuthenticationFilter());
    registration.setName("c7auth-assertion-authentication");
    registration.addUrlPatterns(
        environment.getProperty("c7auth.plugin.filter.url-pattern", DEFAULT_URL_PATTERN));
    // fetchAndLock long polling completes asynchronously behind this filter.
    registration.setAsyncSupported(true);
    for (VerifierConfig.Setting setting : VerifierConfig.Setting.values()) {
      String value = environment.getProperty(setting.systemProperty());
      if (value != null && !value.isBlank()) registration.addInitParameter(setting.initParam(), value);
    }
    return registration;
  }
}
