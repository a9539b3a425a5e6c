package dev.c7auth.engine.core;

/** The plugin's configuration is missing or invalid. The message names settings, never values of secrets. */
public final class PluginConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public PluginConfigException(String message) {
    super(message);
  }

  public PluginConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
