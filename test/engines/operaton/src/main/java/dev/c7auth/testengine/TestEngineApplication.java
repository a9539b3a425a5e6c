package dev.c7auth.testengine;

import java.io.IOException;
import org.operaton.bpm.engine.rest.security.auth.ProcessEngineAuthenticationFilter;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.web.context.WebServerPortFileWriter;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;

/**
 * Operaton 1.0 engine-rest server for c7auth's tests, configured like a production engine (see
 * application.yaml). Every path under /engine-rest is behind the engine's own
 * ProcessEngineAuthenticationFilter; the provider class comes from
 * C7AUTH_TEST_ENGINE_AUTH_PROVIDER so a provider jar added with -Dloader.path can be tested.
 */
@SpringBootApplication
public class TestEngineApplication {

  public static void main(String[] args) {
    SpringApplication app = new SpringApplication(TestEngineApplication.class);
    // The harness starts the server on port 0 and reads the bound port from this file, so
    // parallel test files never race for a port.
    String portFile = System.getenv("C7AUTH_TEST_ENGINE_PORT_FILE");
    if (portFile != null && !portFile.isEmpty()) {
      app.addListeners(new WebServerPortFileWriter(portFile));
    }
    // The harness keeps our stdin open for as long as it lives: end of input means the test
    // process is gone (even by SIGKILL), so no engine outlives the tests that started it.
    if ("1".equals(System.getenv("C7AUTH_TEST_ENGINE_EXIT_ON_STDIN_EOF"))) {
      Thread watchdog = new Thread(TestEngineApplication::exitOnStdinEof, "c7auth-stdin-watchdog");
      watchdog.setDaemon(true);
      watchdog.start();
    }
    app.run(args);
  }

  private static void exitOnStdinEof() {
    try {
      byte[] buffer = new byte[256];
      while (System.in.read(buffer) != -1) {
        // discard
      }
    } catch (IOException ignored) {
      // a broken pipe means the same as end of input
    }
    Thread halt = new Thread(() -> {
      try {
        Thread.sleep(10_000);
      } catch (InterruptedException ignored) {
        // halting now is fine too
      }
      Runtime.getRuntime().halt(1);
    }, "c7auth-halt");
    halt.setDaemon(true);
    halt.start();
    System.exit(0);
  }

  @Bean
  FilterRegistrationBean<ProcessEngineAuthenticationFilter> engineRestAuthenticationFilter(
      @Value("${c7auth.test-engine.auth-provider}") String authenticationProvider) {
    FilterRegistrationBean<ProcessEngineAuthenticationFilter> registration =
        new FilterRegistrationBean<>(new ProcessEngineAuthenticationFilter());
    registration.setName("engine-rest-authentication");
    registration.addInitParameter("authentication-provider", authenticationProvider);
    registration.addUrlPatterns("/engine-rest/*");
    // fetchAndLock long polling runs asynchronously behind this filter.
    registration.setAsyncSupported(true);
    return registration;
  }
}
