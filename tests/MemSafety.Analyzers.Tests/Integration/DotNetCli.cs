using System;
using System.Diagnostics;
using System.IO;
using System.Text;

namespace MemSafety.Analyzers.Tests.Integration;

/// <summary>Runs the real <c>dotnet</c> CLI, isolated from the MSBuild environment of the test host.</summary>
public static class DotNetCli
{
    public sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => $"exit code {ExitCode}{Environment.NewLine}{Output}";
    }

    public static Result Run(string workingDirectory, string? packagesFolder, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            start.ArgumentList.Add(argument);

        // The test host runs inside MSBuild-launched processes; their variables would point the child
        // build at the wrong SDK pieces.
        foreach (var key in new System.Collections.Generic.List<string>(start.Environment.Keys))
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
                start.Environment.Remove(key);
        }

        // Consumer projects get a package cache of their own; the repository's projects keep the usual one
        // (a different cache would rewrite their obj/ assets to point at a folder that is then deleted).
        if (packagesFolder is not null)
            start.Environment["NUGET_PACKAGES"] = packagesFolder;
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        // No build servers: they would outlive the test run and hold CI's output open.
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit((int)TimeSpan.FromMinutes(8).TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} did not finish in 8 minutes:{Environment.NewLine}{output}");
        }

        process.WaitForExit();
        return new Result(process.ExitCode, output.ToString());
    }

    /// <summary>The repository root: the folder above the test assembly that holds the solution.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MemSafety.Analyzers.sln")))
                return dir.FullName;
        }

        throw new InvalidOperationException("MemSafety.Analyzers.sln not found above " + AppContext.BaseDirectory);
    }
}
