using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;
using System.Runtime.Loader;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using Microsoft.CodeAnalysis.Text;

namespace MemSafety.Analyzers.Tests.Verification;

/// <summary>
/// The IL ground truth for boxing rules: compiles a (marked-up) source the way a user's Release build
/// would, decodes every method body with System.Reflection.Metadata and maps each instruction back to
/// the source statement it belongs to through the portable PDB's sequence points.
/// A test then asks "which <c>box</c> instructions does this construct produce?", "does the JIT remove
/// them?" and "is this a <c>constrained.</c> call instead?". <see cref="IlAssembly.AllocatedBytesPerCall"/>
/// runs a method on the test host's runtime to check what really allocates.
/// </summary>
public static class IlInspection
{
    public static IlAssembly Compile(
        string markup,
        LanguageVersion languageVersion = LanguageVersion.Latest,
        ReferenceSet references = ReferenceSet.Net80,
        OptimizationLevel optimization = OptimizationLevel.Release,
        params string[] preprocessorSymbols)
    {
        var parsed = Markup.Parse(markup);
        var text = SourceText.From(parsed.Source, Encoding.UTF8);
        var tree = CSharpSyntaxTree.ParseText(text, new CSharpParseOptions(languageVersion, preprocessorSymbols: preprocessorSymbols), path: "/src/Test0.cs");
        var compilation = CSharpCompilation.Create(
            "IlInspection" + Guid.NewGuid().ToString("N"),
            new[] { tree },
            References(references),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, optimizationLevel: optimization,
                nullableContextOptions: NullableContextOptions.Disable));

        using var pe = new MemoryStream();
        using var pdb = new MemoryStream();
        var result = compilation.Emit(pe, pdb, options: new EmitOptions(debugInformationFormat: DebugInformationFormat.PortablePdb));
        if (!result.Success)
        {
            var errors = result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error);
            throw new InvalidOperationException("The source does not compile:" + Environment.NewLine + string.Join(Environment.NewLine, errors));
        }

        return new IlAssembly(pe.ToArray(), pdb.ToArray(), text, parsed.Spans.Select(s => s.Span).ToImmutableArray(), references);
    }

    public static IEnumerable<MetadataReference> References(ReferenceSet set) => set switch
    {
        ReferenceSet.NetStandard20 => Basic.Reference.Assemblies.NetStandard20.References.All,
        ReferenceSet.Net472 => Basic.Reference.Assemblies.Net472.References.All,
        _ => Basic.Reference.Assemblies.Net80.References.All,
    };

    /// <summary>Decodes an IL method body. Every operand size of ECMA-335 III is handled, including
    /// <c>switch</c>'s variable-length target table; branch operands become absolute offsets.</summary>
    public static ImmutableArray<IlInstruction> Decode(byte[] il, Func<int, string> tokenName, Func<int, string> userString)
    {
        var instructions = ImmutableArray.CreateBuilder<IlInstruction>();
        var reader = new IlReader(il);
        while (reader.Position < il.Length)
        {
            var offset = reader.Position;
            int value = reader.Byte();
            if (value == 0xFE)
                value = 0xFE00 | reader.Byte();
            var opCode = (ILOpCode)value;
            var token = 0;
            object? operand = OperandKindOf(opCode) switch
            {
                OperandKind.None => null,
                OperandKind.Int8 => (int)(sbyte)reader.Byte(),
                OperandKind.UInt8 => (int)reader.Byte(),
                OperandKind.UInt16 => (int)BinaryPrimitives.ReadUInt16LittleEndian(reader.Take(2)),
                OperandKind.Int32 => reader.Int32(),
                OperandKind.Int64 => BinaryPrimitives.ReadInt64LittleEndian(reader.Take(8)),
                OperandKind.Float32 => BinaryPrimitives.ReadSingleLittleEndian(reader.Take(4)),
                OperandKind.Float64 => BinaryPrimitives.ReadDoubleLittleEndian(reader.Take(8)),
                OperandKind.Token => tokenName(token = reader.Int32()),
                OperandKind.String => userString(reader.Int32()),
                // Branch offsets are relative to the start of the next instruction.
                OperandKind.Branch8 => (sbyte)reader.Byte() + reader.Position,
                OperandKind.Branch32 => reader.Int32() + reader.Position,
                OperandKind.Switch => SwitchTargets(ref reader),
                _ => throw new InvalidOperationException(),
            };
            instructions.Add(new IlInstruction(offset, reader.Position - offset, opCode, operand) { MetadataToken = token });
        }

        return instructions.ToImmutable();
    }

    private static ImmutableArray<int> SwitchTargets(ref IlReader reader)
    {
        var count = reader.Int32();
        var deltas = new int[count];
        for (var i = 0; i < count; i++)
            deltas[i] = reader.Int32();
        // Switch targets are relative to the end of the whole instruction, i.e. after the table.
        var next = reader.Position;
        return deltas.Select(d => next + d).ToImmutableArray();
    }

    private ref struct IlReader
    {
        private readonly ReadOnlySpan<byte> _il;

        public IlReader(ReadOnlySpan<byte> il)
        {
            _il = il;
            Position = 0;
        }

        public int Position { get; private set; }

        public byte Byte() => Take(1)[0];

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public ReadOnlySpan<byte> Take(int count)
        {
            if (Position + count > _il.Length)
                throw new InvalidOperationException($"IL ends inside the instruction at offset {Position}");
            var bytes = _il.Slice(Position, count);
            Position += count;
            return bytes;
        }
    }

    private enum OperandKind { None, Int8, UInt8, UInt16, Int32, Int64, Float32, Float64, Token, String, Branch8, Branch32, Switch }

    /// <summary>The <c>no.</c> prefix (0xFE19) has no <see cref="ILOpCode"/> member; it takes one byte.</summary>
    private const int NoPrefix = 0xFE19;

    private static OperandKind OperandKindOf(ILOpCode opCode)
    {
        if (opCode == ILOpCode.Switch)
            return OperandKind.Switch;
        if (opCode.IsBranch())
            return opCode.GetBranchOperandSize() == 1 ? OperandKind.Branch8 : OperandKind.Branch32;
        switch (opCode)
        {
            case ILOpCode.Ldc_i4_s:
                return OperandKind.Int8;
            case ILOpCode.Ldarg_s or ILOpCode.Ldarga_s or ILOpCode.Starg_s or ILOpCode.Ldloc_s or ILOpCode.Ldloca_s or ILOpCode.Stloc_s or ILOpCode.Unaligned:
            case (ILOpCode)NoPrefix:
                return OperandKind.UInt8;
            case ILOpCode.Ldarg or ILOpCode.Ldarga or ILOpCode.Starg or ILOpCode.Ldloc or ILOpCode.Ldloca or ILOpCode.Stloc:
                return OperandKind.UInt16;
            case ILOpCode.Ldc_i4:
                return OperandKind.Int32;
            case ILOpCode.Ldc_i8:
                return OperandKind.Int64;
            case ILOpCode.Ldc_r4:
                return OperandKind.Float32;
            case ILOpCode.Ldc_r8:
                return OperandKind.Float64;
            case ILOpCode.Ldstr:
                return OperandKind.String;
            case ILOpCode.Call or ILOpCode.Callvirt or ILOpCode.Calli or ILOpCode.Newobj or ILOpCode.Jmp or ILOpCode.Ldftn or ILOpCode.Ldvirtftn
                or ILOpCode.Ldtoken or ILOpCode.Box or ILOpCode.Unbox or ILOpCode.Unbox_any or ILOpCode.Isinst or ILOpCode.Castclass
                or ILOpCode.Newarr or ILOpCode.Ldelema or ILOpCode.Ldelem or ILOpCode.Stelem or ILOpCode.Ldobj or ILOpCode.Stobj
                or ILOpCode.Cpobj or ILOpCode.Initobj or ILOpCode.Sizeof or ILOpCode.Mkrefany or ILOpCode.Refanyval or ILOpCode.Constrained
                or ILOpCode.Ldfld or ILOpCode.Ldflda or ILOpCode.Stfld or ILOpCode.Ldsfld or ILOpCode.Ldsflda or ILOpCode.Stsfld:
                return OperandKind.Token;
            default:
                return OperandKind.None;
        }
    }
}

/// <summary>One decoded instruction. <see cref="Operand"/> is: null; an int, long, float or double
/// immediate; the absolute target offset of a branch (int); the targets of a switch
/// (<see cref="ImmutableArray{T}"/> of int); the literal of <c>ldstr</c>; or the display name of a
/// token (a type like <c>System.Int32</c>, a member like <c>System.Enum::HasFlag(System.Enum)</c>).</summary>
public sealed record IlInstruction(int Offset, int Size, ILOpCode OpCode, object? Operand)
{
    public string? Token => Operand as string;

    /// <summary>The raw metadata token of a token operand (0 otherwise).</summary>
    public int MetadataToken { get; init; }

    public string Mnemonic => (int)OpCode == 0xFE19 ? "no." : OpCode.ToString().ToLowerInvariant().Replace('_', '.') + (IsPrefix ? "." : "");

    private bool IsPrefix => OpCode is ILOpCode.Constrained or ILOpCode.Readonly or ILOpCode.Tail or ILOpCode.Volatile or ILOpCode.Unaligned;

    public override string ToString() => Operand switch
    {
        null => $"IL_{Offset:x4}: {Mnemonic}",
        ImmutableArray<int> targets => $"IL_{Offset:x4}: {Mnemonic} ({string.Join(", ", targets.Select(t => $"IL_{t:x4}"))})",
        int target when OpCode.IsBranch() => $"IL_{Offset:x4}: {Mnemonic} IL_{target:x4}",
        _ => $"IL_{Offset:x4}: {Mnemonic} {Operand}",
    };
}

/// <summary>A source statement as the PDB records it: IL from <see cref="Offset"/> up to the next
/// sequence point belongs to <see cref="Span"/>. Hidden sequence points (compiler-generated code)
/// have no span.</summary>
public sealed record IlSequencePoint(int Offset, TextSpan? Span, string? Text);

/// <summary>How the JIT treats a <c>box</c> that the IL contains.</summary>
public enum BoxIdiom
{
    /// <summary>Nothing removes it: the value is copied into a new heap object.</summary>
    None,

    /// <summary><c>box T; unbox.any T</c>: the JIT drops both (generic code casting T to itself).</summary>
    UnboxAny,

    /// <summary><c>box T; isinst X; brtrue/brfalse</c> (or <c>ldnull; cgt.un</c> for a bool): T is
    /// known when the JIT compiles the instantiation, so the type test becomes a constant.</summary>
    IsInstBranch,

    /// <summary><c>box T; brtrue/brfalse</c>: a null check of a value type, constant at JIT time
    /// (<c>x == null</c> on an unconstrained T).</summary>
    NullCheck,

    /// <summary><c>box T; ldnull; ceq/cgt.un</c>: <c>t == null</c> used as a value rather than a branch.
    /// Not an importer pattern: a later phase folds the comparison (no allocation measured on .NET 10;
    /// unverified on older runtimes).</summary>
    NullComparison,

    /// <summary><c>box T; isinst X; unbox.any X</c> on a type parameter (<c>t is int i</c> in generic
    /// code): the JIT resolves the test for the instantiation and reads the value directly.</summary>
    IsInstUnboxAny,

    /// <summary><c>box E; …; box E; call Enum::HasFlag</c>: an intrinsic on CoreCLR since .NET Core 2.1 (a bit
    /// test, no box); .NET Framework really boxes.</summary>
    EnumHasFlag,
}

/// <summary>A <c>box</c> instruction: the boxed type's display name, the statement it belongs to, and
/// whether it is one of the idioms the JIT removes. <see cref="ElidedByJit"/> is for the runtime of the
/// compilation's target (CoreCLR for net8.0; .NET Framework for net472; for netstandard2.0 either, so
/// <c>HasFlag</c> and the null comparison count as boxing there). "Elided" is about optimized code: tier-0
/// code may still box until the method is rejitted.</summary>
public sealed record IlBox(string Method, int Offset, string Type, IlSequencePoint? Statement, BoxIdiom Idiom, bool ElidedByJit)
{
    public override string ToString() => $"box {Type} in {Method} at IL_{Offset:x4}{(Idiom == BoxIdiom.None ? "" : $" ({Idiom}{(ElidedByJit ? ", elided by the JIT" : "")})")}: {Statement?.Text ?? "(hidden)"}";
}

/// <summary>A <c>constrained. T callvirt M</c>: no <c>box</c> in the IL. <see cref="BoxesAtRunTime"/>:
/// true when T is a value type of this assembly that does not implement M itself (the runtime then
/// boxes the receiver to call the inherited <c>ValueType</c>/<c>Object</c>/<c>Enum</c> member or a
/// default interface method), false when T implements M, null when it cannot be told from this
/// assembly (T is a type parameter or comes from a reference).</summary>
public sealed record IlConstrainedCall(string Method, int Offset, string Type, string Callee, IlSequencePoint? Statement, bool? BoxesAtRunTime)
{
    public override string ToString() => $"constrained. {Type} {Callee} in {Method} at IL_{Offset:x4} (boxes at run time: {BoxesAtRunTime?.ToString() ?? "depends"}): {Statement?.Text ?? "(hidden)"}";
}

public sealed class IlMethod
{
    internal IlMethod(string type, string name, MethodImplAttributes implAttributes, int codeSize, ImmutableArray<IlInstruction> instructions, ImmutableArray<IlSequencePoint> sequencePoints)
    {
        CodeSize = codeSize;
        Type = type;
        Name = name;
        ImplAttributes = implAttributes;
        Instructions = instructions;
        SequencePoints = sequencePoints;
    }

    /// <summary>Display name of the declaring type: <c>C</c>, <c>N.C</c>, nested <c>C+&lt;&gt;c</c>.</summary>
    public string Type { get; }

    public string Name { get; }

    public string FullName => Type + "::" + Name;

    public MethodImplAttributes ImplAttributes { get; }

    /// <summary>Length of the IL body in bytes.</summary>
    public int CodeSize { get; }

    public ImmutableArray<IlInstruction> Instructions { get; }

    public ImmutableArray<IlSequencePoint> SequencePoints { get; }

    public ImmutableArray<IlBox> Boxes { get; internal set; }

    public ImmutableArray<IlConstrainedCall> ConstrainedCalls { get; internal set; }

    /// <summary>Targets of <c>call</c>, <c>callvirt</c> and <c>newobj</c>, in order.</summary>
    public IEnumerable<string> Calls => Instructions
        .Where(i => i.OpCode is ILOpCode.Call or ILOpCode.Callvirt or ILOpCode.Newobj)
        .Select(i => i.Token!);

    /// <summary>The statement (sequence point) whose IL range holds <paramref name="offset"/>.</summary>
    public IlSequencePoint? StatementAt(int offset)
    {
        IlSequencePoint? found = null;
        foreach (var point in SequencePoints)
        {
            if (point.Offset > offset)
                break;
            found = point;
        }

        return found;
    }

    /// <summary>The boxes grouped by statement, in IL order; boxes in hidden code come under null.</summary>
    public IEnumerable<(IlSequencePoint? Statement, ImmutableArray<IlBox> Boxes)> BoxesByStatement()
        => Boxes.GroupBy(b => b.Statement).Select(g => (g.Key, g.ToImmutableArray()));

    /// <summary>An ildasm-like listing, for assertion messages.</summary>
    public string Dump()
    {
        var builder = new StringBuilder().AppendLine(FullName);
        foreach (var instruction in Instructions)
        {
            var point = SequencePoints.FirstOrDefault(p => p.Offset == instruction.Offset);
            if (point is not null)
                builder.AppendLine("  // " + (point.Text ?? "(hidden)"));
            builder.Append("  ").AppendLine(instruction.ToString());
        }

        return builder.ToString();
    }

    public override string ToString() => FullName;
}

/// <summary>A compiled test source with every method body decoded.</summary>
public sealed class IlAssembly
{
    private readonly byte[] _image;

    internal IlAssembly(byte[] image, byte[] pdb, SourceText source, ImmutableArray<TextSpan> markedSpans, ReferenceSet references)
    {
        _image = image;
        Source = source;
        MarkedSpans = markedSpans;
        References = references;
        using var peReader = new PEReader(ImmutableArray.Create(image));
        using var pdbProvider = MetadataReaderProvider.FromPortablePdbImage(ImmutableArray.Create(pdb));
        Methods = new MetadataDecoder(peReader, pdbProvider.GetMetadataReader(), this).DecodeAll();
    }

    public SourceText Source { get; }

    public ImmutableArray<TextSpan> MarkedSpans { get; }

    public ReferenceSet References { get; }

    public ImmutableArray<IlMethod> Methods { get; }

    /// <summary>The only <c>[|…|]</c> of the source.</summary>
    public TextSpan MarkedSpan => MarkedSpans.Length == 1 ? MarkedSpans[0] : throw new InvalidOperationException($"The source has {MarkedSpans.Length} marked spans, not one");

    public IEnumerable<IlBox> Boxes => Methods.SelectMany(m => m.Boxes);

    public IEnumerable<IlConstrainedCall> ConstrainedCalls => Methods.SelectMany(m => m.ConstrainedCalls);

    /// <summary>The method <paramref name="name"/> of type <paramref name="type"/> (display name); it must be unique.</summary>
    public IlMethod Method(string type, string name)
    {
        var found = Methods.Where(m => m.Type == type && m.Name == name).ToList();
        return found.Count == 1
            ? found[0]
            : throw new InvalidOperationException($"{found.Count} methods {type}::{name}; methods: {string.Join(", ", Methods)}");
    }

    /// <summary>Boxes, in any method (lambdas and local functions live in generated methods), whose
    /// statement overlaps <paramref name="span"/>.</summary>
    public ImmutableArray<IlBox> BoxesOverlapping(TextSpan span)
        => Boxes.Where(b => Touches(b.Statement, span)).ToImmutableArray();

    public ImmutableArray<IlConstrainedCall> ConstrainedCallsOverlapping(TextSpan span)
        => ConstrainedCalls.Where(c => Touches(c.Statement, span)).ToImmutableArray();

    /// <summary>The statement overlaps the span (or holds it, for an empty span).</summary>
    private static bool Touches(IlSequencePoint? statement, TextSpan span)
        => statement?.Span is TextSpan s && (s.OverlapsWith(span) || span.IsEmpty && s.Contains(span.Start));

    /// <summary>Boxes of the marked construct that the JIT does not remove.</summary>
    public ImmutableArray<IlBox> RealBoxesInMarkedSpan() => BoxesOverlapping(MarkedSpan).Where(b => !b.ElidedByJit).ToImmutableArray();

    public ImmutableArray<IlBox> BoxesInMarkedSpan() => BoxesOverlapping(MarkedSpan);

    /// <summary>Every method that has a body, as listings.</summary>
    public string Dump() => string.Join(Environment.NewLine, Methods.Select(m => m.Dump()));

    /// <summary>
    /// Loads the assembly into a collectible context, calls the static parameterless void method a few
    /// times to warm it up, then returns the bytes the current thread allocated per call over
    /// <paramref name="calls"/> calls. The method must be marked
    /// <c>[MethodImpl(MethodImplOptions.AggressiveOptimization)]</c> so that it is compiled by the
    /// optimizing JIT at once (tier-0 code keeps boxes that optimized code removes). The host runtime
    /// is the test's (.NET 10), whatever the compilation targeted.
    /// </summary>
    public double AllocatedBytesPerCall(string type, string method, int calls = 100)
    {
        var context = new AssemblyLoadContext("IlInspection", isCollectible: true);
        try
        {
            var assembly = context.LoadFromStream(new MemoryStream(_image));
            var info = assembly.GetType(type, throwOnError: true)!
                .GetMethod(method, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, Type.EmptyTypes)
                ?? throw new InvalidOperationException($"No static parameterless {type}::{method}");
            if ((info.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) == 0)
                throw new InvalidOperationException($"{type}::{method} must be [MethodImpl(MethodImplOptions.AggressiveOptimization)]");
            var action = info.CreateDelegate<Action>();
            for (var i = 0; i < 3; i++)
                action();
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < calls; i++)
                action();
            return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)calls;
        }
        finally
        {
            context.Unload();
        }
    }

    /// <summary>
    /// <see cref="AllocatedBytesPerCall"/> in a fresh process of the test host's runtime (same version), with the
    /// given <c>DOTNET_*</c> variables: JIT settings such as <c>DOTNET_JitObjectStackAllocation=0</c> are read once at
    /// start-up, so this is how a test shows that a box is removed by the importer rather than put on the stack.
    /// </summary>
    public double AllocatedBytesPerCallInChildProcess(string type, string method, IReadOnlyDictionary<string, string> environment, int calls = 100)
    {
        var folder = Directory.CreateTempSubdirectory("memsafety-alloc-");
        try
        {
            var measured = Path.Combine(folder.FullName, "Measured.dll");
            File.WriteAllBytes(measured, _image);
            var host = MeasurementHost.WriteTo(folder.FullName);
            var start = new System.Diagnostics.ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "exec", host, measured, type, method, calls.ToString(System.Globalization.CultureInfo.InvariantCulture) })
                start.ArgumentList.Add(argument);
            foreach (var (key, value) in environment)
                start.Environment[key] = value;
            using var process = System.Diagnostics.Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(60_000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("The measurement process did not finish in a minute");
            }

            if (process.ExitCode != 0)
                throw new InvalidOperationException($"The measurement process failed ({process.ExitCode}):{Environment.NewLine}{output.Result}{error.Result}");
            var lines = output.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (lines.Length != 2 || lines[0] != Environment.Version.ToString())
                throw new InvalidOperationException($"Unexpected output (runtime {Environment.Version} expected first):{Environment.NewLine}{output.Result}");
            return double.Parse(lines[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>A console program that loads an assembly, warms up a static parameterless method and prints the
    /// runtime version and the bytes allocated per call; compiled once per test run.</summary>
    private static class MeasurementHost
    {
        private const string Source = """
            using System;
            using System.Globalization;
            using System.Reflection;
            public static class Host
            {
                public static int Main(string[] args)
                {
                    var method = Assembly.LoadFrom(args[0]).GetType(args[1], true)
                        .GetMethod(args[2], BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, Type.EmptyTypes);
                    if ((method.MethodImplementationFlags & MethodImplAttributes.AggressiveOptimization) == 0)
                        return 2;
                    var action = method.CreateDelegate<Action>();
                    for (var i = 0; i < 3; i++)
                        action();
                    var calls = int.Parse(args[3], CultureInfo.InvariantCulture);
                    var before = GC.GetAllocatedBytesForCurrentThread();
                    for (var i = 0; i < calls; i++)
                        action();
                    var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)calls;
                    Console.WriteLine(Environment.Version);
                    Console.WriteLine(perCall.ToString(CultureInfo.InvariantCulture));
                    return 0;
                }
            }
            """;

        private static readonly Lazy<byte[]> Image = new(() =>
        {
            var compilation = CSharpCompilation.Create(
                "MeasurementHost",
                new[] { CSharpSyntaxTree.ParseText(Source) },
                Basic.Reference.Assemblies.Net80.References.All,
                new CSharpCompilationOptions(OutputKind.ConsoleApplication, optimizationLevel: OptimizationLevel.Release));
            using var stream = new MemoryStream();
            var result = compilation.Emit(stream);
            if (!result.Success)
                throw new InvalidOperationException(string.Join(Environment.NewLine, result.Diagnostics));
            return stream.ToArray();
        });

        /// <summary>Writes the host and a runtimeconfig that asks for exactly the test host's runtime version.</summary>
        public static string WriteTo(string folder)
        {
            var path = Path.Combine(folder, "MeasurementHost.dll");
            File.WriteAllBytes(path, Image.Value);
            File.WriteAllText(Path.Combine(folder, "MeasurementHost.runtimeconfig.json"),
                $$$"""{"runtimeOptions":{"framework":{"name":"Microsoft.NETCore.App","version":"{{{Environment.Version}}}"},"rollForward":"Disable"}}""");
            return path;
        }
    }

    /// <summary>Walks the metadata once: names for tokens, sequence points, boxes and their idioms.</summary>
    private sealed class MetadataDecoder
    {
        private readonly PEReader _pe;
        private readonly MetadataReader _md;
        private readonly MetadataReader _pdb;
        private readonly IlAssembly _assembly;
        private readonly SignatureNames _names;

        public MetadataDecoder(PEReader pe, MetadataReader pdb, IlAssembly assembly)
        {
            _pe = pe;
            _md = pe.GetMetadataReader();
            _pdb = pdb;
            _assembly = assembly;
            _names = new SignatureNames(_md);
        }

        public ImmutableArray<IlMethod> DecodeAll()
        {
            var methods = ImmutableArray.CreateBuilder<IlMethod>();
            foreach (var typeHandle in _md.TypeDefinitions)
            {
                foreach (var methodHandle in _md.GetTypeDefinition(typeHandle).GetMethods())
                {
                    var definition = _md.GetMethodDefinition(methodHandle);
                    if (definition.RelativeVirtualAddress == 0)
                        continue;
                    methods.Add(Decode(typeHandle, methodHandle, definition));
                }
            }

            return methods.ToImmutable();
        }

        private IlMethod Decode(TypeDefinitionHandle typeHandle, MethodDefinitionHandle methodHandle, MethodDefinition definition)
        {
            var body = _pe.GetMethodBody(definition.RelativeVirtualAddress);
            var context = GenericContext.Of(_md, methodHandle);
            var il = body.GetILBytes()!;
            var instructions = IlInspection.Decode(
                il,
                token => TokenName(MetadataTokens.EntityHandle(token), context),
                token => _md.GetUserString(MetadataTokens.UserStringHandle(token)));
            var method = new IlMethod(_names.TypeName(typeHandle), _md.GetString(definition.Name), definition.ImplAttributes, il.Length, instructions, SequencePoints(methodHandle));
            method.Boxes = FindBoxes(method);
            method.ConstrainedCalls = FindConstrainedCalls(method, instructions);
            return method;
        }

        private ImmutableArray<IlSequencePoint> SequencePoints(MethodDefinitionHandle handle)
        {
            var points = ImmutableArray.CreateBuilder<IlSequencePoint>();
            foreach (var point in _pdb.GetMethodDebugInformation(handle.ToDebugInformationHandle()).GetSequencePoints())
            {
                if (point.IsHidden)
                {
                    points.Add(new IlSequencePoint(point.Offset, null, null));
                    continue;
                }

                var span = _assembly.Source.Lines.GetTextSpan(new LinePositionSpan(
                    new LinePosition(point.StartLine - 1, point.StartColumn - 1),
                    new LinePosition(point.EndLine - 1, point.EndColumn - 1)));
                points.Add(new IlSequencePoint(point.Offset, span, _assembly.Source.ToString(span)));
            }

            return points.ToImmutable();
        }

        private ImmutableArray<IlBox> FindBoxes(IlMethod method)
        {
            var code = method.Instructions;
            var idioms = new BoxIdiom[code.Length];
            for (var i = 0; i < code.Length; i++)
            {
                if (code[i].OpCode == ILOpCode.Box)
                    idioms[i] = IdiomAfter(code, i, IsTypeParameter(code[i].MetadataToken),
                        i + 1 < code.Length && code[i + 1].OpCode == ILOpCode.Unbox_any && IsTypeParameter(code[i + 1].MetadataToken));
                else if (code[i].OpCode == ILOpCode.Call && code[i].Token == "System.Enum::HasFlag(System.Enum)")
                    MarkHasFlag(code, i, idioms);
            }

            var boxes = ImmutableArray.CreateBuilder<IlBox>();
            for (var i = 0; i < code.Length; i++)
            {
                if (code[i].OpCode != ILOpCode.Box)
                    continue;
                var idiom = idioms[i];
                // HasFlag is a CoreCLR intrinsic, and the null comparison fold was only measured there: for
                // a netstandard2.0 or net472 build the code may run on .NET Framework, so they count as boxes.
                var coreClrOnly = idiom is BoxIdiom.EnumHasFlag or BoxIdiom.NullComparison;
                var elided = idiom != BoxIdiom.None && (!coreClrOnly || _assembly.References == ReferenceSet.Net80);
                boxes.Add(new IlBox(method.FullName, code[i].Offset, code[i].Token!, method.StatementAt(code[i].Offset), idiom, elided));
            }

            return boxes.ToImmutable();
        }

        /// <summary>The JIT looks at the instructions right after a box: CoreCLR's importer
        /// (<c>Compiler::impBoxPatternMatch</c> in dotnet/runtime src/coreclr/jit/importer.cpp) matches
        /// box + unbox.any, box + brtrue/brfalse, box + isinst + brtrue/brfalse, box + isinst + ldnull +
        /// cgt.un and box + isinst + unbox.any. Only straight-line successors count here.</summary>
        private static BoxIdiom IdiomAfter(ImmutableArray<IlInstruction> code, int box, bool boxesTypeParameter, bool unboxesTypeParameter)
        {
            IlInstruction? At(int k) => box + k < code.Length ? code[box + k] : null;
            var next = At(1);
            if (next is null)
                return BoxIdiom.None;
            // box T; unbox.any T. For a type parameter the JIT compares the instantiation with the
            // unbox type: equal means the pair disappears, different means it throws. The same holds for
            // `box int; unbox.any T` (`(T)(object)x`) when T is instantiated over a value type; over object or an
            // interface the box is the value T holds, which the harness counts, like `box T`, as the generic
            // code's idiom (ValueTypeBoxingTests.CastToATypeParameterThroughObject_NoDiagnostic measures both).
            if (next.OpCode == ILOpCode.Unbox_any && (next.Token == code[box].Token || boxesTypeParameter || unboxesTypeParameter))
                return BoxIdiom.UnboxAny;
            // Nullable<T> boxes through a helper that can produce null; the importer leaves those.
            var nullable = code[box].Token!.StartsWith("System.Nullable<", StringComparison.Ordinal);
            if (IsTrueFalseBranch(next.OpCode))
                return nullable ? BoxIdiom.None : BoxIdiom.NullCheck;
            if (next.OpCode == ILOpCode.Ldnull && At(2)?.OpCode is ILOpCode.Ceq or ILOpCode.Cgt_un)
                return nullable ? BoxIdiom.None : BoxIdiom.NullComparison;
            if (next.OpCode == ILOpCode.Isinst && At(2) is { } test)
            {
                if (IsTrueFalseBranch(test.OpCode) || test.OpCode == ILOpCode.Ldnull && At(3)?.OpCode == ILOpCode.Cgt_un)
                    return BoxIdiom.IsInstBranch;
                if (test.OpCode == ILOpCode.Unbox_any && boxesTypeParameter)
                    return BoxIdiom.IsInstUnboxAny;
            }

            return BoxIdiom.None;
        }

        /// <summary><c>HasFlag</c> is expanded only when both the receiver and the argument are boxes
        /// of the same enum: <c>box E; (load the flag); box E; call Enum::HasFlag</c>. The flag must be
        /// a simple load between the two boxes (a constant, local, argument, field).</summary>
        private static void MarkHasFlag(ImmutableArray<IlInstruction> code, int call, BoxIdiom[] idioms)
        {
            var argument = call - 1;
            if (argument < 1 || code[argument].OpCode != ILOpCode.Box)
                return;
            var pushed = 0;
            for (var i = argument - 1; i >= 0; i--)
            {
                var instruction = code[i];
                if (instruction.OpCode == ILOpCode.Box && pushed == 1)
                {
                    if (instruction.Token == code[argument].Token)
                        idioms[i] = idioms[argument] = BoxIdiom.EnumHasFlag;
                    return;
                }

                var effect = SimpleStackEffect(instruction.OpCode);
                if (effect is null)
                    return;
                pushed += effect.Value;
            }
        }

        /// <summary>Net stack effect of the loads that can compute a HasFlag argument; null for
        /// anything else (calls, branches…), which ends the search.</summary>
        private static int? SimpleStackEffect(ILOpCode opCode) => opCode switch
        {
            ILOpCode.Ldc_i4 or ILOpCode.Ldc_i4_s or ILOpCode.Ldc_i4_m1 or ILOpCode.Ldc_i4_0 or ILOpCode.Ldc_i4_1 or ILOpCode.Ldc_i4_2
                or ILOpCode.Ldc_i4_3 or ILOpCode.Ldc_i4_4 or ILOpCode.Ldc_i4_5 or ILOpCode.Ldc_i4_6 or ILOpCode.Ldc_i4_7 or ILOpCode.Ldc_i4_8
                or ILOpCode.Ldc_i8 or ILOpCode.Ldarg or ILOpCode.Ldarg_s or ILOpCode.Ldarg_0 or ILOpCode.Ldarg_1 or ILOpCode.Ldarg_2
                or ILOpCode.Ldarg_3 or ILOpCode.Ldloc or ILOpCode.Ldloc_s or ILOpCode.Ldloc_0 or ILOpCode.Ldloc_1 or ILOpCode.Ldloc_2
                or ILOpCode.Ldloc_3 or ILOpCode.Ldsfld => 1,
            ILOpCode.Ldfld or ILOpCode.Conv_i4 or ILOpCode.Conv_i8 or ILOpCode.Conv_u4 or ILOpCode.Conv_u8 => 0,
            _ => null,
        };

        private static bool IsTrueFalseBranch(ILOpCode opCode)
            => opCode is ILOpCode.Brtrue or ILOpCode.Brtrue_s or ILOpCode.Brfalse or ILOpCode.Brfalse_s;

        private bool IsTypeParameter(int token)
        {
            var handle = MetadataTokens.EntityHandle(token);
            if (handle.Kind != HandleKind.TypeSpecification)
                return false;
            var blob = _md.GetBlobReader(_md.GetTypeSpecification((TypeSpecificationHandle)handle).Signature);
            return blob.ReadSignatureTypeCode() is SignatureTypeCode.GenericTypeParameter or SignatureTypeCode.GenericMethodParameter;
        }

        private ImmutableArray<IlConstrainedCall> FindConstrainedCalls(IlMethod method, ImmutableArray<IlInstruction> code)
        {
            var calls = ImmutableArray.CreateBuilder<IlConstrainedCall>();
            for (var i = 0; i + 1 < code.Length; i++)
            {
                if (code[i].OpCode != ILOpCode.Constrained)
                    continue;
                var boxes = ReceiverBoxes(MetadataTokens.EntityHandle(code[i].MetadataToken), MetadataTokens.EntityHandle(code[i + 1].MetadataToken));
                calls.Add(new IlConstrainedCall(method.FullName, code[i].Offset, code[i].Token!, code[i + 1].Token!, method.StatementAt(code[i].Offset), boxes));
            }

            return calls.ToImmutable();
        }

        /// <summary>Whether <c>constrained. T callvirt M</c> boxes the receiver when T is a value type
        /// defined here: it does unless T itself has a method implementing M (same name and parameter
        /// types for Object/ValueType/Enum members; an explicit implementation or same name and
        /// parameter count for interface members).</summary>
        private bool? ReceiverBoxes(EntityHandle type, EntityHandle callee)
        {
            if (type.Kind != HandleKind.TypeDefinition)
                return null;
            var definition = _md.GetTypeDefinition((TypeDefinitionHandle)type);
            var baseName = definition.BaseType.IsNil ? null : TokenName(definition.BaseType, null);
            if (baseName is not ("System.ValueType" or "System.Enum"))
                return false; // a class receiver: constrained. is a plain virtual call
            if (!TryGetCallee(callee, out var name, out var parameters, out var declaringIsInterface))
                return null;
            foreach (var methodHandle in definition.GetMethods())
            {
                var candidate = _md.GetMethodDefinition(methodHandle);
                if ((candidate.Attributes & MethodAttributes.Virtual) == 0 || _md.GetString(candidate.Name) != name)
                    continue;
                var candidateParameters = candidate.DecodeSignature(_names, GenericContext.Of(_md, methodHandle)).ParameterTypes;
                if (declaringIsInterface ? candidateParameters.Length == parameters.Length : candidateParameters.SequenceEqual(parameters))
                    return false;
            }

            foreach (var implementationHandle in definition.GetMethodImplementations())
            {
                var declaration = _md.GetMethodImplementation(implementationHandle).MethodDeclaration;
                if (TryGetCallee(declaration, out var declared, out _, out _) && declared == name)
                    return false;
            }

            return true;
        }

        private bool TryGetCallee(EntityHandle handle, out string name, out ImmutableArray<string> parameters, out bool declaringIsInterface)
        {
            name = "";
            parameters = ImmutableArray<string>.Empty;
            declaringIsInterface = false;
            switch (handle.Kind)
            {
                case HandleKind.MemberReference:
                    var reference = _md.GetMemberReference((MemberReferenceHandle)handle);
                    name = _md.GetString(reference.Name);
                    parameters = reference.DecodeMethodSignature(_names, null).ParameterTypes;
                    // Only Object, ValueType and Enum members reach a struct by inheritance; anything
                    // else called through constrained. on a struct is an interface member.
                    declaringIsInterface = TokenName(reference.Parent, null) is not ("System.Object" or "System.ValueType" or "System.Enum");
                    return true;
                case HandleKind.MethodDefinition:
                    var definition = _md.GetMethodDefinition((MethodDefinitionHandle)handle);
                    name = _md.GetString(definition.Name);
                    parameters = definition.DecodeSignature(_names, null).ParameterTypes;
                    declaringIsInterface = (_md.GetTypeDefinition(definition.GetDeclaringType()).Attributes & TypeAttributes.Interface) != 0;
                    return true;
                default:
                    return false;
            }
        }

        private string TokenName(EntityHandle handle, GenericContext? context)
        {
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                    return _names.TypeName((TypeDefinitionHandle)handle);
                case HandleKind.TypeReference:
                    return _names.TypeName((TypeReferenceHandle)handle);
                case HandleKind.TypeSpecification:
                    return _md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(_names, context);
                case HandleKind.MethodDefinition:
                {
                    var method = _md.GetMethodDefinition((MethodDefinitionHandle)handle);
                    var signature = method.DecodeSignature(_names, null);
                    return $"{_names.TypeName(method.GetDeclaringType())}::{_md.GetString(method.Name)}({string.Join(", ", signature.ParameterTypes)})";
                }

                case HandleKind.FieldDefinition:
                {
                    var field = _md.GetFieldDefinition((FieldDefinitionHandle)handle);
                    return $"{_names.TypeName(field.GetDeclaringType())}::{_md.GetString(field.Name)}";
                }

                case HandleKind.MemberReference:
                {
                    var member = _md.GetMemberReference((MemberReferenceHandle)handle);
                    var name = $"{TokenName(member.Parent, context)}::{_md.GetString(member.Name)}";
                    return member.GetKind() == MemberReferenceKind.Method
                        ? $"{name}({string.Join(", ", member.DecodeMethodSignature(_names, null).ParameterTypes)})"
                        : name;
                }

                case HandleKind.MethodSpecification:
                {
                    var specification = _md.GetMethodSpecification((MethodSpecificationHandle)handle);
                    var method = TokenName(specification.Method, context);
                    var arguments = specification.DecodeSignature(_names, context);
                    var open = method.IndexOf('(');
                    return $"{method.Substring(0, open)}<{string.Join(", ", arguments)}>{method.Substring(open)}";
                }

                case HandleKind.StandaloneSignature:
                    return "(signature)";
                default:
                    return handle.Kind.ToString();
            }
        }
    }

    /// <summary>The names of the generic parameters in scope in a method body; without it, generic
    /// parameters print as <c>!0</c> (type) and <c>!!0</c> (method), as in member signatures.</summary>
    private sealed record GenericContext(ImmutableArray<string> TypeParameters, ImmutableArray<string> MethodParameters)
    {
        public static GenericContext Of(MetadataReader md, MethodDefinitionHandle handle)
        {
            var method = md.GetMethodDefinition(handle);
            var type = md.GetTypeDefinition(method.GetDeclaringType());
            return new GenericContext(
                type.GetGenericParameters().Select(p => md.GetString(md.GetGenericParameter(p).Name)).ToImmutableArray(),
                method.GetGenericParameters().Select(p => md.GetString(md.GetGenericParameter(p).Name)).ToImmutableArray());
        }
    }

    /// <summary>Display names for types in signatures: <c>System.Int32</c>, <c>N.Outer+Inner</c>,
    /// <c>System.Collections.Generic.List&lt;System.Int32&gt;</c>, <c>T</c> or <c>!!0</c>.</summary>
    private sealed class SignatureNames : ISignatureTypeProvider<string, GenericContext?>
    {
        private readonly MetadataReader _md;

        public SignatureNames(MetadataReader md) => _md = md;

        public string TypeName(TypeDefinitionHandle handle)
        {
            var definition = _md.GetTypeDefinition(handle);
            var name = WithoutArity(_md.GetString(definition.Name));
            if (definition.IsNested)
                return TypeName(definition.GetDeclaringType()) + "+" + name;
            var ns = _md.GetString(definition.Namespace);
            return ns.Length == 0 ? name : ns + "." + name;
        }

        public string TypeName(TypeReferenceHandle handle)
        {
            var reference = _md.GetTypeReference(handle);
            var name = WithoutArity(_md.GetString(reference.Name));
            if (reference.ResolutionScope.Kind == HandleKind.TypeReference)
                return TypeName((TypeReferenceHandle)reference.ResolutionScope) + "+" + name;
            var ns = _md.GetString(reference.Namespace);
            return ns.Length == 0 ? name : ns + "." + name;
        }

        private static string WithoutArity(string name)
        {
            var tick = name.IndexOf('`');
            return tick < 0 ? name : name.Substring(0, tick);
        }

        public string GetArrayType(string elementType, ArrayShape shape) => elementType + "[" + new string(',', shape.Rank - 1) + "]";

        public string GetByReferenceType(string elementType) => elementType + "&";

        public string GetFunctionPointerType(MethodSignature<string> signature) => $"delegate*<{string.Join(", ", signature.ParameterTypes.Append(signature.ReturnType))}>";

        public string GetGenericInstantiation(string genericType, ImmutableArray<string> typeArguments) => $"{genericType}<{string.Join(", ", typeArguments)}>";

        public string GetGenericMethodParameter(GenericContext? genericContext, int index)
            => genericContext is not null && index < genericContext.MethodParameters.Length ? genericContext.MethodParameters[index] : "!!" + index;

        public string GetGenericTypeParameter(GenericContext? genericContext, int index)
            => genericContext is not null && index < genericContext.TypeParameters.Length ? genericContext.TypeParameters[index] : "!" + index;

        public string GetModifiedType(string modifier, string unmodifiedType, bool isRequired) => unmodifiedType;

        public string GetPinnedType(string elementType) => elementType;

        public string GetPointerType(string elementType) => elementType + "*";

        public string GetPrimitiveType(PrimitiveTypeCode typeCode) => "System." + typeCode;

        public string GetSZArrayType(string elementType) => elementType + "[]";

        public string GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) => TypeName(handle);

        public string GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => TypeName(handle);

        public string GetTypeFromSpecification(MetadataReader reader, GenericContext? genericContext, TypeSpecificationHandle handle, byte rawTypeKind)
            => reader.GetTypeSpecification(handle).DecodeSignature(this, genericContext);
    }
}
