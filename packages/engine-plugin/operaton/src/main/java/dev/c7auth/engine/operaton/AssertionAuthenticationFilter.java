package dev.c7auth.engine.operaton;

import dev.c7auth.engine.core.AssertionAuthenticator;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import org.operaton.bpm.engine.rest.security.auth.ProcessEngineAuthenticationFilter;

/**
 * {@link ProcessEngineAuthenticationFilter} preset with {@link AssertionAuthenticationProvider} whose
 * settings may come from the filter's init-params ({@code issuer}, {@code audience},
 * {@code jwks-url}, {@code public-key}, {@code public-key-file}, …) before system properties and
 * environment. Use it in a WAR's web.xml or a Spring Boot {@code FilterRegistrationBean}.
 */
public class AssertionAuthenticationFilter extends ProcessEngineAuthenticationFilter {
  @Override
  public void init(FilterConfig filterConfig) throws ServletException {
    authenticationProvider =
        new AssertionAuthenticationProvider(AssertionAuthenticator.fromSettings(filterConfig::getInitParameter));
    servletPathPrefix = filterConfig.getInitParameter(SERVLET_PATH_PREFIX);
  }
}
