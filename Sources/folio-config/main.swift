// folio-config: checks Folio configuration files, shows the effective
// configuration, tells which strategy the build's traits chose, and
// generates the Swift constant for FolioConfigPlugin.
//
//   folio-config check FILE...          exit 0, or 2 with the error on stderr
//   folio-config show FILE              the configuration after environment overrides
//   folio-config default-strategy       the strategy DefaultPageCache uses in this build
//   folio-config generate FILE OUTPUT   (the plugin's generator; no environment)
import FolioCache
import FolioConfiguration
import Foundation

func fail(_ message: String, status: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(status)
}

let usage = "usage: folio-config check FILE... | show FILE | default-strategy | generate FILE OUTPUT"
let arguments = Array(CommandLine.arguments.dropFirst())
guard let command = arguments.first else { fail(usage, status: 64) }
let operands = Array(arguments.dropFirst())

switch command {
case "check":
    guard !operands.isEmpty else { fail(usage, status: 64) }
    for path in operands {
        do {
            let c = try CacheConfiguration.load(file: path)
            print("\(path): ok (\(c.lock.kind), \(Units.formatSize(c.cache.capacity)) of \(Units.formatSize(c.cache.pageSize)) pages)")
        } catch {
            fail(error.description, status: 2)
        }
    }
case "show":
    guard operands.count == 1 else { fail(usage, status: 64) }
    do {
        let c = try CacheConfiguration.load(file: operands[0])
        print(c.tomlText, terminator: "")
    } catch {
        fail(error.description, status: 2)
    }
case "default-strategy":
    print(defaultLockStrategyKind)
case "generate":
    guard operands.count == 2 else { fail(usage, status: 64) }
    let (input, output) = (operands[0], operands[1])
    do {
        // Build time: the environment of the build is not the service's.
        let c = try CacheConfiguration.load(file: input, environment: [:])
        let text = try String(contentsOfFile: input, encoding: .utf8)
        let name = URL(fileURLWithPath: input).lastPathComponent
        try Data(c.swiftSource(fileName: name, toml: text).utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
    } catch let error as ConfigurationError {
        fail(error.description, status: 1)
    } catch {
        fail("\(output): error: cannot write the generated file: \(error)", status: 1)
    }
default:
    fail(usage, status: 64)
}
