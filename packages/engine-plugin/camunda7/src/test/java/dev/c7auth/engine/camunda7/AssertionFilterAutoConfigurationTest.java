package dev.c7auth.engine.camunda7;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.web.servlet.FilterRegistrationBean;

/** The auto-configuration Run and Spring Boot pick up from the jar: off by default, then wired. */
class AssertionFilterAutoConfigurationTest {
  private final ApplicationContextRunner runner =
      new ApplicationContextRunner()
          .withConfiguration(AutoConfigurations.of(AssertionFilterAutoConfiguration.class));

  @Test
  void offUnlessEnabled() {
    runner.run(ctx -> assertFalse(ctx.containsBean("c7authAssertionAuthenticationFilter")));
    runner
        .withPropertyValues("c7auth.plugin.filter.enabled=false")
        .run(ctx -> assertFalse(ctx.containsBean("c7authAssertionAuthenticationFilter")));
  }

  @Test
  void registersTheFilterWithSettingsFromTheSpringEnvironment() {
    runner
        .withPropertyValues(
            "c7auth.plugin.filter.enabled=true",
            "c7auth.plugin.issuer=https://gateway.example",
            "c7auth.plugin.audience=engine-prod",
            "c7auth.plugin.jwks-url=https://gateway.example/.well-known/jwks.json")
        .run(
            ctx -> {
              assertTrue(ctx.containsBean("c7authAssertionAuthenticationFilter"));
              FilterRegistrationBean<?> reg =
                  ctx.getBean("c7authAssertionAuthenticationFilter", FilterRegistrationBean.class);
              assertTrue(reg.getFilter() instanceof AssertionAuthenticationFilter);
              assertEquals(List.of("/engine-rest/*"), List.copyOf(reg.getUrlPatterns()));
              assertTrue(reg.isAsyncSupported());
              assertEquals(
                  Map.of(
                      "issuer", "https://gateway.example",
                      "audience", "engine-prod",
                      "jwks-url", "https://gateway.example/.well-known/jwks.json"),
                  reg.getInitParameters());
            });
  }
}
