from socket import *
import sys
serverName = sys.argv[1] if len(sys.argv) > 1 else 'localhost'
serverPort = int(sys.argv[2]) if len(sys.argv) > 2 else 12000
clientSocket = socket(AF_INET, SOCK_DGRAM)
message = input('Input lowercase sentence:')
clientSocket.sendto(message.encode(),(serverName, serverPort))
modifiedMessage, serverAddress = clientSocket.recvfrom(2048)
print(modifiedMessage.decode())
clientSocket.close()
