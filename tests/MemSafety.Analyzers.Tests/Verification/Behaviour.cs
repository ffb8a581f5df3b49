using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>Compiles a source and runs one of its static methods, so a test can show that a fix keeps
/// behaviour: the original and the fixed code must return the same value.</summary>
public static class Behaviour
{
    /// <param name="references">What to compile against; the test host (.NET 10) runs the result, which for
    /// netstandard2.0 (with System.Memory) is what a .NET Core application using such a library does.</param>
    public static string Run(string source, string typeName = "Program", string methodName = "Run", bool optimize = true,
        ReferenceSet references = ReferenceSet.Net80, LanguageVersion languageVersion = LanguageVersion.Latest)
    {
        using var stream = Emit(source, optimize, references, languageVersion, entryPoint: null);
        var context = new AssemblyLoadContext(null, isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(stream);
            var method = assembly.GetType(typeName, throwOnError: true)!.GetMethod(methodName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)!;
            return Convert.ToString(method.Invoke(null, null), System.Globalization.CultureInfo.InvariantCulture) ?? "(null)";
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>Like <see cref="Run"/>, but the probe runs as its own .NET process (the test host's runtime version):
    /// for probes whose result depends on the garbage collector (collections, finalizers, weak references), on thread
    /// interleaving, or on process-wide counts such as open descriptors. xunit runs test classes in parallel in one
    /// process, so in-process such a probe would see other tests' collections, allocations and files.</summary>
    public static string RunInOwnProcess(string source, string typeName = "Program", string methodName = "Run", bool optimize = true,
        ReferenceSet references = ReferenceSet.Net80, LanguageVersion languageVersion = LanguageVersion.Latest,
        int timeoutMilliseconds = 120_000)
    {
        var (exitCode, output, error) = RunProcess(source, typeName, methodName, optimize, references, languageVersion, timeoutMilliseconds);
        Assert.True(exitCode == 0, $"the probe exited with {exitCode}: {error}");
        return output;
    }

    /// <summary>Like <see cref="RunInOwnProcess"/> for a probe that may end the process (a native abort on heap
    /// corruption): the exit code and what the probe wrote, whatever the exit code.</summary>
    public static (int ExitCode, string Output) ExitOfOwnProcess(string source, string typeName = "Program", string methodName = "Run", bool optimize = true,
        ReferenceSet references = ReferenceSet.Net80, LanguageVersion languageVersion = LanguageVersion.Latest,
        int timeoutMilliseconds = 120_000)
    {
        var (exitCode, output, _) = RunProcess(source, typeName, methodName, optimize, references, languageVersion, timeoutMilliseconds);
        return (exitCode, output);
    }

    private static (int ExitCode, string Output, string Error) RunProcess(string source, string typeName, string methodName, bool optimize,
        ReferenceSet references, LanguageVersion languageVersion, int timeoutMilliseconds)
    {
        var directory = Path.Combine(Path.GetTempPath(), "memsafety-behaviour", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            using (var stream = Emit(source, optimize, references, languageVersion, entryPoint: (typeName, methodName)))
            using (var file = File.Create(Path.Combine(directory, "probe.dll")))
                stream.CopyTo(file);
            var version = Environment.Version;
            File.WriteAllText(Path.Combine(directory, "probe.runtimeconfig.json"),
                "{\"runtimeOptions\":{\"tfm\":\"net" + version.Major + "." + version.Minor + "\",\"framework\":{\"name\":\"Microsoft.NETCore.App\",\"version\":\""
                + version.Major + "." + version.Minor + "." + version.Build + "\"}}}");
            var start = new ProcessStartInfo(DotnetHost(), "exec \"" + Path.Combine(directory, "probe.dll") + "\"")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = directory,
            };
            using var process = Process.Start(start)!;
            var error = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(timeoutMilliseconds))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"the probe did not finish within {timeoutMilliseconds} ms");
            }

            process.WaitForExit();
            return (process.ExitCode, output.Result, error.Result);
        }
        finally
        {
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static string DotnetHost()
    {
        // The SDK tells the processes it starts where its host is; the test host itself runs under that host.
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
            return host;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
            return self;
        return "dotnet";
    }

    private static MemoryStream Emit(string source, bool optimize, ReferenceSet references, LanguageVersion languageVersion,
        (string Type, string Method)? entryPoint)
    {
        var parse = new CSharpParseOptions(languageVersion);
        var trees = new[] { CSharpSyntaxTree.ParseText(Markup.Parse(source).Source, parse) }.ToList();
        if (entryPoint is { } entry)
        {
            // Plain C# that every language version accepts; reflection finds the probe's method whatever its accessibility.
            trees.Add(CSharpSyntaxTree.ParseText(
                "internal static class MemSafetyBehaviourEntry\n{\n    private static int Main()\n    {\n"
                + "        var method = typeof(MemSafetyBehaviourEntry).Assembly.GetType(\"" + entry.Type + "\", true).GetMethod(\"" + entry.Method
                + "\", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static);\n"
                + "        var result = System.Convert.ToString(method.Invoke(null, null), System.Globalization.CultureInfo.InvariantCulture);\n"
                + "        System.Console.Out.Write(result ?? \"(null)\");\n        return 0;\n    }\n}\n", parse));
        }

        var compilation = CSharpCompilation.Create(
            "Behaviour" + Guid.NewGuid().ToString("N"),
            trees,
            ReferenceSets.References(references),
            new CSharpCompilationOptions(entryPoint is null ? OutputKind.DynamicallyLinkedLibrary : OutputKind.ConsoleApplication,
                allowUnsafe: true, mainTypeName: entryPoint is null ? null : "MemSafetyBehaviourEntry",
                optimizationLevel: optimize ? OptimizationLevel.Release : OptimizationLevel.Debug));
        var stream = new MemoryStream();
        var emitted = compilation.Emit(stream);
        Assert.True(emitted.Success, string.Join(Environment.NewLine, emitted.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        stream.Position = 0;
        return stream;
    }
}
