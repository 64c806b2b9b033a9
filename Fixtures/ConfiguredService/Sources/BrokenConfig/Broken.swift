import FolioCache

public let brokenConfiguration = FolioEmbeddedConfiguration.value
