from liveblog.cli import main

main()
